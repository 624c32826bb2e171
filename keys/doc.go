// Package keys owns the server's RSA signing keys: generation, encryption at
// rest, the rotation schedule, the choice of the key that signs, and the
// JWKS document (RFC 7517) that resource servers cache.
//
// A key is next (published, not yet signing), then current (signing), then
// retired (published until every token it signed has expired), then
// removed. Resource servers cache the JWKS for its max age, so a next key is
// published at least that long before it signs, and a cache that is warm
// never meets an unknown kid. States are derived from each record's
// generation and timestamps (Plan), so that instances sharing a store agree
// without coordinating; the only once-only decision, creating the next key,
// is an insert on the store's unique generation.
//
// Private keys never leave this package unencrypted except as the signer in
// memory. The JWKS document is prepared once per key-set change and served
// from memory with a strong ETag.
package keys
