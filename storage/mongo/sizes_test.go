package mongo

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/token/jwt"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/qaznat/qazauth/storage"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }
func contains(s, sub string) bool     { return strings.Contains(s, sub) }

// sig returns a signature shaped like fosite's HMAC signatures (43 base64url
// characters).
func sig(seed string) string {
	h := sha256.Sum256([]byte(seed))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// realisticData is what storage.Fosite stores with a refresh token of the
// mobile app's password or authorization-code grant with scope openid.
func realisticData(rid string, now time.Time) []byte {
	sess := storage.NewSession()
	sess.Subject = "7GQ2KX4WZ3M5N6P7Q8R9S2T3U4"
	sess.Username = "aigerim"
	sess.Email = "aigerim@example.kz"
	sess.EmailVerified = true
	sess.Roles = []string{"translator"}
	sess.AuthTime = now.Truncate(time.Second)
	sess.MaxAge = 720 * time.Hour
	sess.SetExpiresAt(fosite.AccessToken, now.Add(15*time.Minute))
	sess.SetExpiresAt(fosite.RefreshToken, now.Add(168*time.Hour))
	sess.IDClaims = &jwt.IDTokenClaims{
		Subject: sess.Subject, Issuer: "https://auth.qaznat.kz", Audience: []string{"qaznat-mobile"},
		AuthTime: sess.AuthTime, RequestedAt: now, IssuedAt: now, ExpiresAt: now.Add(time.Hour),
	}
	sess.IDHeaders = &jwt.Headers{}
	scopes := []string{"openid", "profile", "email", "offline_access", "translate"}
	b, err := json.Marshal(map[string]any{
		"id": rid, "requested_at": now, "client_id": "qaznat-mobile",
		"requested_scopes": scopes, "granted_scopes": scopes,
		"requested_audience": []string{"qaznat-api"}, "granted_audience": []string{"qaznat-api"},
		"form":    map[string][]string{"redirect_uri": {"kz.qaznat.app:/oauth2redirect"}},
		"session": sess,
	})
	if err != nil {
		panic(err)
	}
	return b
}

// sizedToken is a token record of realistic size.
func sizedToken(seed, rid string, now time.Time) *storage.Token {
	return &storage.Token{
		Signature:      sig(seed),
		RequestID:      rid,
		ClientID:       "qaznat-mobile",
		Subject:        "7GQ2KX4WZ3M5N6P7Q8R9S2T3U4",
		CreatedAt:      now,
		ExpiresAt:      now.Add(168 * time.Hour),
		Data:           realisticData(rid, now),
		ChainStartedAt: now.Add(-time.Hour),
		UserAgent:      "Qaznat/3.4.1 (iPhone; iOS 18.2; Scale/3.00)",
		IP:             "203.0.113.7",
	}
}

// TestDocumentSizes reports the BSON size of each kind of document (run
// with -v) and guards against accidental growth.
func TestDocumentSizes(t *testing.T) {
	now := time.Now().UTC()
	rid := "5b0f6c1e-2d7a-4e8b-9c3f-1a2b3c4d5e6f"
	tok := sizedToken("x", rid, now)
	size := func(d any) int {
		b, err := bson.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		return len(b)
	}
	refresh := size(newTokenDoc(kindRefresh, tok))
	access := size(newTokenDoc(kindAccess, tok))
	code := size(newTokenDoc(kindCode, tok))
	rotated := size(&tokenDoc{ID: key(kindRotated, tok.Signature), Kind: kindRotated, Successor: sig("y"), At: now, ExpiresAt: now})
	revoked := size(&tokenDoc{ID: key(kindRevoked, rid), Kind: kindRevoked, At: now, ExpiresAt: now})
	used := size(&tokenDoc{ID: key(kindCodeUsed, tok.Signature), Kind: kindCodeUsed, At: now, ExpiresAt: now})
	t.Logf("data (serialized request) %d bytes", len(tok.Data))
	t.Logf("BSON: refresh %d, access %d, code %d, rotation marker %d, revoked-chain marker %d, used-code marker %d bytes",
		refresh, access, code, rotated, revoked, used)
	if overhead := refresh - len(tok.Data); overhead > 400 {
		t.Errorf("refresh document overhead %d bytes beyond its data, want ≤ 400", overhead)
	}
	if rotated > 200 {
		t.Errorf("rotation marker %d bytes, want ≤ 200", rotated)
	}
}
