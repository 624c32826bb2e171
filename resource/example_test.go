package resource_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/qaznat/qazauth/resource"
)

// A resource server validates qazauth tokens with one Validator created at
// start-up, guarding each route with the scopes it needs.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := resource.New(ctx, "https://auth.qaz.example",
		resource.Audience("video-api"),
		resource.Realm("video-api"),
	)
	if err != nil {
		log.Fatal(err)
	}

	translate := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := resource.ClaimsFrom(r.Context())
		fmt.Fprintf(w, "translating for %s (client %s)\n", claims.Subject, claims.ClientID)
	})
	mux := http.NewServeMux()
	mux.Handle("POST /translations", v.Middleware("video:translate")(translate))
	log.Fatal(http.ListenAndServe(":8080", mux))
}

// Code outside net/http calls Validate and tells expired tokens, which the
// client can refresh, from the rest.
func ExampleValidator_Validate() {
	var v *resource.Validator // from resource.New
	var token string          // from the transport, e.g. gRPC metadata

	claims, err := v.Validate(context.Background(), token)
	switch {
	case errors.Is(err, resource.ErrExpired):
		fmt.Println("expired: refresh and retry")
	case err != nil:
		fmt.Println("rejected:", err)
	default:
		if err := claims.RequireScopes("video:translate"); err != nil {
			fmt.Println("forbidden:", err)
		}
	}
}

// Tests of handlers behind the middleware can fake an authenticated request
// with WithClaims instead of minting tokens.
func ExampleWithClaims() {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, ok := resource.ClaimsFrom(r.Context())
		if !ok {
			http.Error(w, "unauthenticated", http.StatusUnauthorized)
			return
		}
		fmt.Fprintln(w, "hello", claims.Username)
	})

	req := httptest.NewRequest("GET", "/videos", nil)
	req = req.WithContext(resource.WithClaims(req.Context(), &resource.Claims{Username: "aida"}))
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Print(rec.Body.String())
	// Output: hello aida
}
