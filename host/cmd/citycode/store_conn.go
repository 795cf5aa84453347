package main

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

// storeConn is an open database for one CLI command.
type storeConn struct {
	ctx  context.Context
	pool *pgxpool.Pool
}
