// Package storage defines the Store that every backend implements (users,
// clients, tokens, signing keys) and adapts it to the storage interfaces of
// fosite.
//
// Backends store records; they never see fosite types. Every decision that
// must happen once (rotating a refresh token, redeeming an authorization
// code) is made by one atomic backend operation, never by a read followed by
// a write in this package. The conformance suite in storage/storagetest holds
// every backend to the same rules.
package storage
