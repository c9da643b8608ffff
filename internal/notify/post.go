package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Signature is the X-IDM-Signature of body signed at Unix time ts with
// secret: "sha256=" and the hex HMAC-SHA256 of ts, ".", body.
func Signature(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ts, 10) + "."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// newClient is the HTTP client of the deliveries: the environment's proxy,
// bounded connection set-up, and no redirects followed (a redirect is an
// answer, reported as such: the signed body is never sent on to another
// address).
func newClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = 5 * time.Second
	tr.MaxIdleConnsPerHost = 2
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// attempt is one post: the receiver's status (0 when none came) and what
// went wrong.
type attempt struct {
	status int
	took   time.Duration
	err    error
}

// post sends body to target, signed with secret at now, and waits at most
// timeout for the answer.
func post(ctx context.Context, client *http.Client, target, secret, event, noticeID string, body []byte, now time.Time, timeout time.Duration) attempt {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return attempt{err: fmt.Errorf("the URL cannot be used: %w", err)}
	}
	ts := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "idm-notify/1")
	req.Header.Set(HeaderEvent, event)
	req.Header.Set(HeaderDelivery, noticeID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Signature(secret, ts, body))
	start := time.Now()
	res, err := client.Do(req)
	if err != nil {
		return attempt{took: time.Since(start), err: describe(ctx, err, timeout)}
	}
	defer res.Body.Close()
	// Read a little of the answer so that the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	a := attempt{status: res.StatusCode, took: time.Since(start)}
	switch {
	case res.StatusCode >= 300 && res.StatusCode < 400:
		a.err = fmt.Errorf("the receiver answered %s; redirects are not followed: give the final URL", res.Status)
	case res.StatusCode < 200 || res.StatusCode >= 300:
		a.err = fmt.Errorf("the receiver answered %s", res.Status)
	}
	return a
}

// describe says why a post got no answer, without the URL (its query may
// hold a token).
func describe(ctx context.Context, err error, timeout time.Duration) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("no answer within %s: timed out", timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("no answer: %w", err)
}
