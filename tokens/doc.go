// Package tokens implements the token strategies qazauth hands to fosite:
// RFC 9068 JWT access tokens signed with the current key, and opaque refresh
// tokens and authorization codes stored only as keyed hashes.
//
// A refresh token's successor is derived from the token itself, so every
// request that rotates one token within the grace window gets the same
// successor: parallel refreshes converge and a lost response is recovered
// without the chain ever forking.
package tokens
