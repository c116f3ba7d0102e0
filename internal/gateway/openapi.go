package gateway

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Request documents the route's JSON body: pass a zero value of the type
// the handler decodes into, so the document and the handler share it.
func Request(v any) Option { return func(o *routeOpts) { o.request = reflect.TypeOf(v) } }

// Response documents the route's success answer.
func Response(status int, v any) Option {
	return func(o *routeOpts) {
		o.status = status
		if v != nil {
			o.response = reflect.TypeOf(v)
		}
	}
}

var pathParam = regexp.MustCompile(`\{([a-zA-Z]+)\}`)

// OpenAPI builds the OpenAPI 3.1 document of every registered route.
func (rt *Router) OpenAPI(version string) map[string]any {
	schemas := map[string]any{
		"Error": map[string]any{"type": "object", "required": []string{"error"}, "properties": map[string]any{
			"error": map[string]any{"type": "object", "required": []string{"code", "message"}, "properties": map[string]any{
				"code": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"},
				"requestId": map[string]any{"type": "string"},
				"details": map[string]any{"type": "array", "items": map[string]any{"type": "object", "properties": map[string]any{
					"field": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"}}}},
			}},
		}},
	}
	gen := schemaGen{defs: schemas}
	paths := map[string]any{}
	for _, r := range rt.Routes() {
		op := map[string]any{"summary": r.Summary, "operationId": operationID(r)}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(r.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if r.request != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": gen.schema(r.request)}}}
		}
		status := r.status
		if status == 0 {
			status = http.StatusOK
		}
		ok := map[string]any{"description": http.StatusText(status)}
		if r.response != nil {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": gen.schema(r.response)}}
		}
		errRef := map[string]any{"description": "error", "content": map[string]any{
			"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
		op["responses"] = map[string]any{strconv.Itoa(status): ok, "default": errRef}
		if r.Public {
			op["security"] = []any{}
		}
		item, _ := paths[r.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[r.Path] = item
		}
		item[strings.ToLower(r.Method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info":    map[string]any{"title": "QuikApp API", "version": version},
		"servers": []any{map[string]any{"url": "/"}},
		"paths":   paths,
		"components": map[string]any{
			"schemas":         schemas,
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
		},
		"security": []any{map[string]any{"bearer": []any{}}},
	}
}

// ServeOpenAPI answers GET /api/v1/openapi.json.
func (rt *Router) ServeOpenAPI(version string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(rt.OpenAPI(version))
	})
}

func operationID(r Route) string {
	s := strings.ToLower(r.Method) + pathParam.ReplaceAllString(strings.TrimPrefix(r.Path, "/api/v1"), "by-$1")
	return strings.NewReplacer("/", "_", "-", "_").Replace(s)
}

// schemaGen turns Go types into JSON Schema by their json tags, the way
// encoding/json sees them.
type schemaGen struct{ defs map[string]any }

var timeType = reflect.TypeOf(time.Time{})

func (g schemaGen) schema(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType {
		return map[string]any{"type": "string", "format": "date-time"}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Struct:
		name := schemaName(t)
		if name != "" {
			if _, ok := g.defs[name]; !ok {
				g.defs[name] = map[string]any{} // placeholder against recursion
				g.defs[name] = g.object(t)
			}
			return map[string]any{"$ref": "#/components/schemas/" + name}
		}
		return g.object(t)
	}
	return map[string]any{}
}

func schemaName(t reflect.Type) string {
	if t.Name() == "" {
		return ""
	}
	name := t.Name()
	if i := strings.IndexByte(name, '['); i >= 0 { // List[T] → ListT
		name = name[:i] + strings.Map(func(r rune) rune {
			if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, name[i:])
		name = strings.ReplaceAll(name, "githubcomquikappquikappinternal", "")
	}
	pkg := t.PkgPath()
	if i := strings.LastIndexByte(pkg, '/'); i >= 0 {
		pkg = pkg[i+1:]
	}
	if pkg == "" {
		return name
	}
	return strings.ToUpper(pkg[:1]) + pkg[1:] + name
}

func (g schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.schema(f.Type)
	}
	return map[string]any{"type": "object", "properties": props, "additionalProperties": false}
}

// RequestFields lists the JSON field names of a route's documented body.
func RequestFields(r Route) []string {
	if r.request == nil {
		return nil
	}
	t := r.request
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.IsExported() && name != "-" {
			out = append(out, name)
		}
	}
	return out
}
