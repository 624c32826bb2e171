package passwords

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// ErrMismatch is returned when a password does not match its hash.
var ErrMismatch = errors.New("passwords: password does not match")

// ErrMalformedHash is returned for a stored hash that is not a valid argon2id
// PHC string.
var ErrMalformedHash = errors.New("passwords: malformed argon2id hash")

// Params are argon2id cost parameters. The defaults follow OWASP's
// recommendation (m=19 MiB, t=2, p=1).
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// DefaultParams are the parameters new hashes are made with.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// maxMemory bounds the memory parameter accepted from a stored hash, so a
// hostile seed file cannot make one verification allocate gigabytes.
const maxMemory = 256 * 1024

var b64 = base64.RawStdEncoding

// encode hashes password with p and a fresh random salt.
func encode(password []byte, p Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	key := argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// decoded is a parsed PHC string.
type decoded struct {
	params Params
	salt   []byte
	key    []byte
}

// decode parses an argon2id PHC string.
func decode(encoded string) (decoded, error) {
	parts := strings.Split(encoded, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return decoded{}, ErrMalformedHash
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return decoded{}, fmt.Errorf("%w: unsupported version %q", ErrMalformedHash, parts[2])
	}
	var d decoded
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return decoded{}, ErrMalformedHash
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return decoded{}, ErrMalformedHash
		}
		switch k {
		case "m":
			d.params.Memory = uint32(n)
		case "t":
			d.params.Time = uint32(n)
		case "p":
			if n > 255 {
				return decoded{}, ErrMalformedHash
			}
			d.params.Threads = uint8(n)
		default:
			return decoded{}, ErrMalformedHash
		}
	}
	if d.params.Memory < 8 || d.params.Memory > maxMemory || d.params.Time < 1 || d.params.Time > 16 || d.params.Threads < 1 {
		return decoded{}, fmt.Errorf("%w: parameters out of range", ErrMalformedHash)
	}
	var err error
	if d.salt, err = b64.DecodeString(parts[4]); err != nil || len(d.salt) < 8 {
		return decoded{}, ErrMalformedHash
	}
	if d.key, err = b64.DecodeString(parts[5]); err != nil || len(d.key) < 16 || len(d.key) > 64 {
		return decoded{}, ErrMalformedHash
	}
	d.params.SaltLen = uint32(len(d.salt))
	d.params.KeyLen = uint32(len(d.key))
	return d, nil
}

// compare recomputes the hash of password and compares it in constant time.
func (d decoded) compare(password []byte) error {
	key := argon2.IDKey(password, d.salt, d.params.Time, d.params.Memory, d.params.Threads, d.params.KeyLen)
	if subtle.ConstantTimeCompare(key, d.key) != 1 {
		return ErrMismatch
	}
	return nil
}

// Valid reports whether encoded is a well-formed argon2id PHC string that
// this package can verify. Seed files use it to reject a bad password_hash at
// start instead of at the first login.
func Valid(encoded string) bool {
	_, err := decode(encoded)
	return err == nil
}
