// Package resource validates qazauth access tokens inside resource servers.
//
// An API that accepts tokens issued by qazauth (the video-translation API,
// for instance) creates one [Validator] at start-up and uses it to check
// every request offline: no call to the issuer per request, one RSA
// signature verification per token. The tokens are JWT access tokens as
// profiled by RFC 9068, signed with RS256.
//
//	v, err := resource.New(ctx, "https://auth.qaz.example",
//		resource.Audience("video-api"), // whom the token must be for
//		resource.Realm("video-api"),
//	)
//	if err != nil {
//		log.Fatal(err) // discovery or the first key-set fetch failed
//	}
//	translate := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//		claims, _ := resource.ClaimsFrom(r.Context())
//		log.Printf("translation for %s by client %s", claims.Subject, claims.ClientID)
//	})
//	mux := http.NewServeMux()
//	mux.Handle("POST /translations", v.Middleware("video:translate")(translate))
//	log.Fatal(http.ListenAndServe(":8080", mux))
//
// Handlers that do not use net/http call [Validator.Validate] directly and
// check scopes with [Claims.RequireScopes].
//
// # What is checked
//
// A token is accepted only if it is a JWS in compact serialization of at
// most 16 KiB, signed with an allowed algorithm (RS256 unless [Algorithms]
// says otherwise; "none" and HMAC can never be allowed) by a key in the
// issuer's key set named by the "kid" header; its "typ" header is at+jwt
// (RFC 9068 §4); "iss" equals the issuer URL exactly; "aud" contains the
// configured [Audience]; "sub", "exp" and "iat" are present; and the
// current time lies within the token's lifetime, give or take the [Leeway]
// (RFC 7519 §4.1.4-§4.1.6). Every failure is reported as an error that
// matches one of the package's sentinel errors, such as [ErrExpired], under
// [errors.Is]; the order of the checks is documented on
// [Validator.Validate].
//
// # Keys
//
// [New] finds the issuer's key set through OpenID Connect Discovery (or
// RFC 8414 metadata) and fetches it once; after that the keys are cached in
// memory. Only RSA keys of at least 2048 bits that are meant for signatures
// ("use" absent or "sig") and carry a "kid" are used; private members, if an
// issuer ever published them, are never read. The cache is refreshed in the
// background once the key-set response's Cache-Control max-age has passed
// (15 minutes without one), and on demand when a token names an unknown
// "kid", which is how a key rotation at the issuer is picked up. Concurrent
// refreshes share one request, and two requests are at least
// [MinRefetchInterval] apart, so tokens with made-up key IDs cannot flood
// the issuer. A refresh that fails in any way (network, status, JSON, no
// usable key) keeps the previous keys in use.
//
// # Middleware
//
// [Validator.Middleware] wraps an http.Handler and answers unauthenticated
// requests as RFC 6750 §3 prescribes: 401 with a WWW-Authenticate challenge
// (with error="invalid_token" if a token was sent but rejected, plus the
// header "Token-Expired: true" if it had merely expired) or 403 with
// error="insufficient_scope". Admitted requests carry the [Claims] in their
// context; see [ClaimsFrom]. Tests of downstream handlers can skip tokens
// altogether with [WithClaims].
package resource
