package keys

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"

	jose "github.com/go-jose/go-jose/v4"
)

// publishedKids returns the kids of the JWKS, sorted.
func publishedKids(s Schedule) []string {
	var kids []string
	for i := range s.Keys {
		if s.Keys[i].Published() {
			kids = append(kids, s.Keys[i].Record.ID)
		}
	}
	slices.Sort(kids)
	return kids
}

// buildSet prepares the snapshot: the signer of cur and the JWKS of every
// published key (next, current, retired). Keys appear in kid order and carry
// only public members, so the document, and its ETag, change exactly when
// the published set does, not when a key moves from next to current.
func buildSet(cur *Key, s Schedule) (*keySet, error) {
	signer, err := cur.newSigner("at+jwt")
	if err != nil {
		return nil, fmt.Errorf("signer for key %s: %w", cur.ID, err)
	}
	set := &keySet{current: cur, atSigner: signer, public: map[string]*rsa.PublicKey{}, kids: publishedKids(s)}
	var doc jose.JSONWebKeySet
	for _, kid := range set.kids {
		r := s.Find(kid).Record
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(r.PublicJWK); err != nil {
			return nil, fmt.Errorf("key %s: decode public JWK: %w", r.ID, err)
		}
		pub, ok := jwk.Key.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("key %s: public key is %T, want RSA", r.ID, jwk.Key)
		}
		set.public[r.ID] = pub
		doc.Keys = append(doc.Keys, jose.JSONWebKey{Key: pub, KeyID: r.ID, Algorithm: Algorithm, Use: "sig"})
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode JWKS: %w", err)
	}
	sum := sha256.Sum256(body)
	set.jwks = body
	set.etag = `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
	return set, nil
}
