package nonce

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a Store shared by every host node using the same Redis: a nonce
// used on one node is refused on all. Each use is one SET key 1 NX PX ttl,
// atomic on the Redis server, and Redis expires the key itself, so memory
// stays bounded by the uses within the ttl. It is safe for concurrent use.
type Redis struct {
	client redis.UniversalClient
	prefix string
}

// NewRedis returns a store keeping nonce keys as prefix + appID + ":" +
// nonce (e.g. prefix "citycode:nonce:"). The caller owns client and closes it.
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix}
}

// Use implements Store. ttl is rounded up to whole milliseconds, the
// resolution of PX.
func (r *Redis) Use(ctx context.Context, appID, nonce string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, ErrTTL
	}
	ttl = (ttl + time.Millisecond - 1).Truncate(time.Millisecond)
	fresh, err := r.client.SetNX(ctx, r.prefix+appID+":"+nonce, 1, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("nonce: redis set: %w", err)
	}
	return fresh, nil
}

var _ Store = (*Redis)(nil)
