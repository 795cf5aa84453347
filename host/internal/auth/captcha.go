package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"strings"
	"time"

	"github.com/mojocn/base64Captcha"

	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/store"
)

// CaptchaConfig configures the login image captcha.
type CaptchaConfig struct {
	Length        int           // digits, 4 to 8; default (and any other value) 5
	TTL           time.Duration // default 2 min
	Width, Height int           // pixels; default 240 x 80
	// Answers returns the next answer (4 to 8 digits). Nil draws random
	// digits from the operating system's CSPRNG; tests set it to know the
	// answer.
	Answers func() string
}

func (c CaptchaConfig) withDefaults() CaptchaConfig {
	if c.Length < 4 || c.Length > 8 {
		c.Length = 5
	}
	if c.TTL <= 0 {
		c.TTL = 2 * time.Minute
	}
	if c.Width <= 0 || c.Height <= 0 {
		c.Width, c.Height = 240, 80
	}
	if c.Answers == nil {
		n := c.Length
		c.Answers = func() string { return randomDigits(n) }
	}
	return c
}

func randomDigits(n int) string {
	b := make([]byte, 0, n)
	var buf [1]byte
	for len(b) < n {
		_, _ = rand.Read(buf[:])
		if buf[0] < 250 { // 250 = 25*10: no modulo bias
			b = append(b, '0'+buf[0]%10)
		}
	}
	return string(b)
}

// Captcha is a new image captcha: the client shows Image and sends the
// digits back with CaptchaID at login.
type Captcha struct {
	CaptchaID string    `json:"captchaId"`
	Image     string    `json:"image" doc:"data:image/png;base64,..."`
	ExpiresAt time.Time `json:"expiresAt"`
}

// NewCaptcha draws a captcha and stores the hash of its answer, so that any
// host node sharing the database can check it. Expired captchas are swept in
// the same statement.
func (s *Service) NewCaptcha(ctx context.Context) (*Captcha, error) {
	answer := s.captcha.Answers()
	if len(answer) < 4 || len(answer) > 8 || strings.Trim(answer, "0123456789") != "" {
		return nil, ErrCaptchaAnswer
	}
	item, err := base64Captcha.NewDriverDigit(s.captcha.Height, s.captcha.Width, len(answer), 0.7, 80).DrawCaptcha(answer)
	if err != nil {
		return nil, fmt.Errorf("auth: draw captcha: %w", err)
	}
	now := s.now()
	c := &Captcha{CaptchaID: codec.RandomToken(16), Image: item.EncodeB64string(), ExpiresAt: now.Add(s.captcha.TTL)}
	_, err = s.pool.Exec(ctx, `
		WITH swept AS (DELETE FROM auth_captchas WHERE expires_at <= $4)
		INSERT INTO auth_captchas (id, answer_hash, expires_at) VALUES ($1, $2, $3)`,
		c.CaptchaID, captchaHash(c.CaptchaID, answer), c.ExpiresAt, now)
	if err != nil {
		return nil, fmt.Errorf("auth: store captcha: %w", err)
	}
	return c, nil
}

// captchaHash binds the answer to its captcha id, so equal answers of two
// captchas do not hash alike.
func captchaHash(id, answer string) string {
	return codec.SM3Hex([]byte(id + ":" + answer))
}

// checkCaptcha consumes the captcha (whether or not the answer is right, so
// each image allows one guess) and reports a CaptchaFailure unless code is
// its answer and it has not expired.
func (s *Service) checkCaptcha(ctx context.Context, id, code string) error {
	var hash string
	var expires time.Time
	err := s.pool.QueryRow(ctx, `DELETE FROM auth_captchas WHERE id = $1 RETURNING answer_hash, expires_at`, id).Scan(&hash, &expires)
	if err != nil && !store.NoRows(err) {
		return fmt.Errorf("auth: consume captcha: %w", err)
	}
	want := captchaHash(id, strings.TrimSpace(code))
	if err != nil || !s.now().Before(expires) || subtle.ConstantTimeCompare([]byte(hash), []byte(want)) != 1 {
		return fault.E(fault.Unauthenticated, fault.CodeCaptchaFailure, "the captcha is wrong or expired")
	}
	return nil
}
