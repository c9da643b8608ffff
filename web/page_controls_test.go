package web_test

import (
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/PuerkitoBio/goquery"
)

// A page's controls, read from its HTML as a browser reads them: every form
// (once per submit button that sends it elsewhere), every htmx control that
// sends its own value, and every link that carries a query. The hostile
// input test sends each with each field spoiled, so a new form, field or
// parameter is covered without being listed anywhere.

// control is one way a page sends input: a method, where to, and the fields
// with the values a browser sends as the page fills them.
type control struct {
	page   string // the page it is on
	method string // GET or POST
	action string // the path it is sent to
	base   url.Values
	fields []string // every field, in the page's order
	htmx   bool     // htmx sends it (and says so in HX-Request)
}

// key identifies a control across pages (Clear cache is on every Operator page).
func (c control) key() string {
	return c.method + " " + c.action + " " + strings.Join(slices.Sorted(slices.Values(c.fields)), ",")
}

// pageControls are the controls of the page at page.
func pageControls(page string, doc *goquery.Document) []control {
	var cs []control
	doc.Find("form").Each(func(_ int, f *goquery.Selection) {
		cs = append(cs, formControls(page, f)...)
	})
	doc.Find("[hx-get],[hx-post]").Each(func(_ int, s *goquery.Selection) {
		if c, ok := htmxControl(page, s); ok {
			cs = append(cs, c)
		}
	})
	doc.Find("a[href]").Each(func(_ int, a *goquery.Selection) {
		if c, ok := linkControl(page, a); ok {
			cs = append(cs, c)
		}
	})
	return cs
}

// formControls is form f once for its own action (sent by its first submit
// button without a formaction) and once per button with a formaction (and
// perhaps a formmethod).
func formControls(page string, f *goquery.Selection) []control {
	method := strings.ToUpper(f.AttrOr("method", "GET"))
	base, fields := formValues(f)
	def := control{page: page, method: method, action: actionPath(page, f.AttrOr("action", page)), base: base, fields: fields}
	var cs []control
	defaultSent := false
	f.Find(`button, input[type="submit"]`).Each(func(_ int, b *goquery.Selection) {
		if t := b.AttrOr("type", "submit"); t != "submit" {
			return
		}
		c := def
		if to, ok := b.Attr("formaction"); ok {
			c.action = actionPath(page, to)
			c.method = strings.ToUpper(b.AttrOr("formmethod", method))
		} else if defaultSent {
			return
		} else {
			defaultSent = true
		}
		c.base, c.fields = cloneValues(base), slices.Clone(fields)
		if name, ok := b.Attr("name"); ok {
			c.base.Set(name, b.AttrOr("value", ""))
			c.fields = append(c.fields, name)
		}
		cs = append(cs, c)
	})
	if !defaultSent {
		cs = append(cs, def)
	}
	return cs
}

// formValues are what f sends as filled: text, hidden and password inputs,
// checked boxes, selected options (or a select's first), text areas.
func formValues(f *goquery.Selection) (url.Values, []string) {
	values := url.Values{}
	var fields []string
	f.Find("input[name], select[name], textarea[name]").Each(func(_ int, s *goquery.Selection) {
		if _, disabled := s.Attr("disabled"); disabled {
			return
		}
		name := s.AttrOr("name", "")
		if !slices.Contains(fields, name) {
			fields = append(fields, name)
		}
		if v, ok := controlValue(s); ok {
			values.Add(name, v)
		}
	})
	return values, fields
}

// controlValue is what control s sends, if anything.
func controlValue(s *goquery.Selection) (string, bool) {
	switch goquery.NodeName(s) {
	case "textarea":
		return s.Text(), true
	case "select":
		opt := s.Find("option[selected]").First()
		if opt.Length() == 0 {
			opt = s.Find("option").First()
		}
		return opt.AttrOr("value", opt.Text()), opt.Length() > 0
	}
	switch s.AttrOr("type", "text") {
	case "checkbox", "radio":
		_, checked := s.Attr("checked")
		return s.AttrOr("value", "on"), checked
	case "submit", "button", "image", "reset", "file":
		return "", false
	}
	return s.AttrOr("value", ""), true
}

// htmxControl is an input that htmx sends alone on a change (the live
// check of a cron expression). Forms and buttons are sent as forms.
func htmxControl(page string, s *goquery.Selection) (control, bool) {
	name, named := s.Attr("name")
	if !named || goquery.NodeName(s) == "form" || goquery.NodeName(s) == "button" {
		return control{}, false
	}
	method, to := "GET", s.AttrOr("hx-get", "")
	if to == "" {
		method, to = "POST", s.AttrOr("hx-post", "")
	}
	v, _ := controlValue(s)
	return control{page: page, method: method, action: actionPath(page, to), base: url.Values{name: {v}}, fields: []string{name}, htmx: true}, true
}

// linkControl is a link of ours with a query (a pager, a filter).
func linkControl(page string, a *goquery.Selection) (control, bool) {
	u, err := url.Parse(a.AttrOr("href", ""))
	if err != nil || u.RawQuery == "" || u.Host != "" || u.Scheme != "" {
		return control{}, false
	}
	q := u.Query()
	return control{page: page, method: "GET", action: actionPath(page, u.Path), base: q, fields: slices.Sorted(maps.Keys(q))}, true
}

// actionPath is where a form or link on page goes, without its query.
func actionPath(page, ref string) string {
	base, _ := url.Parse(page)
	u, err := base.Parse(ref)
	if err != nil {
		return ref
	}
	return u.EscapedPath()
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}
