package domain

import (
	"strconv"
	"strings"
)

// maxRedirectPath bounds a page to return to: longer than any page of ours
// with its query, short enough for every browser and log line.
const maxRedirectPath = 2048

// redirectAreas are the parts of the site a sign-in may return to ("/"
// itself sends the account to its home).
var redirectAreas = []string{"/admin", "/operator"}

// SafeRedirectPath returns next when it may be the page to return to after
// sign-in, and false when it may not. It accepts only an absolute path of
// this site that no browser can read as another host: "/", or a path under
// /admin or /operator, optionally with a query, at most maxRedirectPath bytes
// of printable ASCII.
//
// Browsers drop tabs and line breaks inside a URL and read "\" as "/", so
// "/\t/evil.example" and "/\evil.example" are "//evil.example", another
// host: no whitespace, control character, backslash or non-ASCII byte is
// accepted anywhere. In the path, "//", dot segments and escapes of "/", "\",
// ".", "%" or a control character are refused too, so that no decoding
// (ours, a proxy's, a browser's) can turn the path into another host or
// another area. A fragment is refused: a server never sends one.
func SafeRedirectPath(next string) (string, bool) {
	if next == "" || len(next) > maxRedirectPath || next[0] != '/' {
		return "", false
	}
	path, query, _ := strings.Cut(next, "?")
	if !redirectPathOK(path) || !redirectQueryOK(query) || !inRedirectArea(path) {
		return "", false
	}
	return next, true
}

// redirectPathOK checks the path's bytes and escapes.
func redirectPathOK(path string) bool {
	if strings.Contains(path, "//") {
		return false
	}
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch {
		case !redirectByteOK(c):
			return false
		case c == '%':
			d, ok := unhex2(path[i+1:])
			if !ok || d < ' ' || d == 0x7f || strings.IndexByte(`/\.%`, d) >= 0 {
				return false
			}
			i += 2
		}
	}
	for _, seg := range strings.Split(path, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// redirectQueryOK checks the query's bytes; its escapes may be anything a
// search holds ("q=a%2Fb"), since no decoding of a query changes the host.
func redirectQueryOK(query string) bool {
	for i := 0; i < len(query); i++ {
		if !redirectByteOK(query[i]) {
			return false
		}
		if query[i] == '%' {
			if _, ok := unhex2(query[i+1:]); !ok {
				return false
			}
		}
	}
	return true
}

// redirectByteOK: printable ASCII other than "\" and "#".
func redirectByteOK(c byte) bool {
	return c > ' ' && c < 0x7f && c != '\\' && c != '#'
}

func inRedirectArea(path string) bool {
	if path == "/" {
		return true
	}
	for _, area := range redirectAreas {
		if path == area || strings.HasPrefix(path, area+"/") {
			return true
		}
	}
	return false
}

// unhex2 decodes the two hex digits at the start of s.
func unhex2(s string) (byte, bool) {
	if len(s) < 2 {
		return 0, false
	}
	b, err := strconv.ParseUint(s[:2], 16, 8)
	return byte(b), err == nil
}
