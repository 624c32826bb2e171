// Package passwords hashes and verifies user passwords and client secrets
// with argon2id, encoded in the PHC string format
// ($argon2id$v=19$m=19456,t=2,p=1$salt$hash).
//
// Each argon2id hash holds its memory parameter (19 MiB by default) while it
// runs, so a Hasher bounds the number of hashes in flight: a login flood waits
// in line instead of exhausting memory or starving token refreshes.
package passwords
