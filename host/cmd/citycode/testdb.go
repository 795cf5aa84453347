package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// testdbCmd: citycode testdb create|drop — a throwaway database on the
// server of DATABASE_URL, for plugin tests (sdk/plugintest) and vendors'
// CI. create prints the new database's URL; drop removes a database that
// create made (its name starts with citycode_t_).
func testdbCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "drop") {
		return errors.New("usage: citycode testdb create | testdb drop URL")
	}
	cfg, _, err := loadConfig("testdb", nil)
	if err != nil {
		return err
	}
	if cfg.Database.URL == "" {
		return errors.New("no database server configured (DATABASE_URL)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, cfg.Database.URL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if args[0] == "create" {
		name := "citycode_t_" + hex.EncodeToString(random(6))
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
			return err
		}
		u, err := url.Parse(cfg.Database.URL)
		if err != nil {
			return err
		}
		u.Path = "/" + name
		fmt.Fprintln(stdout, u.String())
		return nil
	}
	if len(args) != 2 {
		return errors.New("usage: citycode testdb drop URL")
	}
	u, err := url.Parse(args[1])
	if err != nil {
		return err
	}
	name := strings.TrimPrefix(u.Path, "/")
	if !testDBName.MatchString(name) {
		return fmt.Errorf("%q is not a database testdb create made", name)
	}
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	return err
}

var testDBName = regexp.MustCompile(`^citycode_t_[0-9a-f]{12}$`)

func random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
