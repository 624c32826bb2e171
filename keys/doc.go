// Package keys owns the server's RSA signing keys: generation, encryption at
// rest, the choice of the key that signs, and the JWKS document that resource
// servers cache.
//
// Private keys never leave this package unencrypted except as the signer in
// memory. The JWKS document is prepared once per key-set change and served
// from memory with a strong ETag.
package keys
