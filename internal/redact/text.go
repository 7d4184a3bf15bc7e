package redact

import (
	"regexp"
	"strings"
)

// Text masks what looks like a secret in free text:
//
//   - every URL: its query values and user information, and a webhook
//     token in its path, as URL does;
//   - the value after a name that says it is secret (api_key, X-Api-Key,
//     X-Plex-Token, trakt-api-key, Authorization, token, password,
//     client_secret, session, ...) and "=", ":" or "%3D": key=value pairs,
//     URL-encoded forms, header lines ("Authorization: Token S"), Go's
//     printed headers ("X-Api-Key:[S]") and JSON members, quoted or
//     escaped ({"api_key": "S"}, {\"api_key\":\"S\"});
//   - the value after a header name ending in token, key, secret, auth or
//     signature and a space ("X-Plex-Token S");
//   - the rest of a Cookie or Set-Cookie line;
//   - bearer and basic credentials;
//   - the token of a Discord (/api/webhooks/ID/TOKEN) or Slack
//     (/services/T/B/TOKEN) webhook path, with or without its host.
//
// It errs on the side of masking: a word after "token:" is masked whether
// or not it is a token. Masked text stays masked: Text(Text(s)) ==
// Text(s).
func Text(s string) string {
	found := triggersIn(s)
	if found == 0 {
		return s
	}
	if found&anyURL != 0 {
		s = urlInText.ReplaceAllStringFunc(s, URL)
	}
	for _, r := range textRules {
		if found&r.triggers != 0 {
			s = maskAll(r.re, s)
		}
	}
	return s
}

// The parts of the patterns below. Every pattern is case-insensitive.
const (
	// secretName is a name that says its value is secret.
	secretName = `[a-z0-9_.-]*(?:key|token|secret|passw|passphrase|pwd|signature|auth|session|cookie|credential|jwt)[a-z0-9_.-]*`
	// scheme is an Authorization scheme, kept before the credential it
	// introduces.
	scheme = `(?:bearer|basic|token|digest|bot|apikey|api-key|key|oauth|negotiate|ntlm|dpop|mac|hoba|sso-key|ssws)`
	// bareValue is an unquoted value: up to a space, a separator or a
	// bracket, and in URL-encoded text up to an encoded "&" (%26).
	bareValue = `(?:[^\s&"'<>,;()\[\]{}%\\]|%(?:[013-9a-f][0-9a-f]|2[0-57-9a-f]))+`
)

var (
	urlInText = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>]*[^\s"'<>.,;:!?)\]]`) // not the punctuation after it

	// In each rule, the first capturing group that matched is the secret.
	cookieInText = regexp.MustCompile(`(?i)\b(?:set-)?cookie(?:\\?["'])?[ \t]*[:=][ \t]*\[?(?:\\?["'])?([^\r\n"'\\\]]+)`)
	pairInText   = regexp.MustCompile(`(?i)\b` + secretName + `(?:\\?["'])?[ \t]*(?:[:=]|%3d)[ \t]*\[?` +
		`(?:\\"([^"\\]*)|"((?:[^"\\]|\\.)*)|'([^']*)|(?:` + scheme + `[ \t]+)?(` + bareValue + `))`)
	spacedHeader = regexp.MustCompile(`(?i)\b(?:[a-z0-9]+-)+[a-z0-9]*(?:token|key|secret|auth|signature)[ \t]+(?:` +
		scheme + `[ \t]+)?(` + bareValue + `)`)
	bearerInText = regexp.MustCompile(`(?i)\b(?:bearer|basic)\s+([a-z0-9._~+/=-]+)`)
	// Discord: /api[/v10]/webhooks/<numeric id>/<token>; Slack:
	// /services/T<team>/B<bot>/<token>.
	webhookInText = regexp.MustCompile(`(?i)/api/(?:v[0-9]+/)?webhooks/[0-9]+/([^/\s?#"'<>]+)|/services/(?-i:T[A-Z0-9]*/B[A-Z0-9]*)/([a-z0-9_-]+)`)

	// textRules run in order, each only on text that holds one of its
	// triggers: a regular expression that fails costs microseconds, a
	// look for a few words a fraction of one.
	textRules = []struct {
		re       *regexp.Regexp
		triggers triggerSet
	}{
		{cookieInText, anyCookie},
		{pairInText, anySecretName},
		{spacedHeader, anySecretName},
		{bearerInText, anyScheme},
		{webhookInText, anyWebhook},
	}
)

// maskWebhookPaths masks the token of a Discord or Slack webhook path.
func maskWebhookPaths(path string) string {
	if !strings.Contains(path, "/webhooks/") && !strings.Contains(path, "/services/") {
		return path
	}
	return maskAll(webhookInText, path)
}

// maskAll returns s with, in each match of re, the first capturing group
// that matched replaced by Mask, less the punctuation that ends it (a
// sentence's, not the secret's).
func maskAll(re *regexp.Regexp, s string) string {
	matches := re.FindAllStringSubmatchIndex(s, -1)
	if matches == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range matches {
		start, end := -1, -1
		for g := 2; g+1 < len(m); g += 2 {
			if m[g] >= 0 {
				start, end = m[g], m[g+1]
				break
			}
		}
		for end > start && strings.IndexByte(".,:;!?", s[end-1]) >= 0 {
			end--
		}
		if start < last || end <= start || s[start:end] == Mask {
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(s))
		}
		b.WriteString(s[last:start])
		b.WriteString(Mask)
		last = end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// triggerSet is a set of triggers: words, in any case, that every secret
// Text masks comes with. Bit i stands for triggerWords[i].
type triggerSet uint32

var triggerWords = [...]string{
	// The words of secretName, which the names of spacedHeader and
	// cookieInText hold too.
	"key", "token", "secret", "pass", "pwd", "signature", "auth", "session", "cookie", "credential", "jwt",
	// bearerInText's schemes, a URL, and webhook paths.
	"bearer", "basic", "://", "/webhooks/", "/services/",
}

const (
	anySecretName triggerSet = 1<<11 - 1
	anyCookie     triggerSet = 1 << 8
	anyScheme     triggerSet = 1<<11 | 1<<12
	anyURL        triggerSet = 1 << 13
	anyWebhook    triggerSet = 1<<14 | 1<<15
)

// triggerIndex lists, for each byte, the triggers that start with it.
var triggerIndex = func() (t [256][]uint8) {
	for i, w := range triggerWords {
		t[w[0]] = append(t[w[0]], uint8(i))
	}
	return t
}()

// triggersIn returns the triggers s holds, in one pass over it.
func triggersIn(s string) triggerSet {
	var found triggerSet
	for i := 0; i < len(s); i++ {
		for _, w := range triggerIndex[s[i]|0x20] { // ASCII lower case; EqualFold checks the rest
			if word := triggerWords[w]; len(s)-i >= len(word) && strings.EqualFold(s[i:i+len(word)], word) {
				found |= 1 << w
			}
		}
	}
	return found
}
