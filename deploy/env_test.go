package deploy

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/quikapp/quikapp/internal/auth/token"
)

// externalSecrets are the secrets our manifests reference but do not ship
// (an operator's secret manager provides them, see docs/deploy.md), with
// the keys docs/deploy.md tells the operator to put in them. Values are
// stand-ins of the right shape; tests replace addresses with their own.
func externalSecrets(t *testing.T) map[string]map[string]string {
	return map[string]map[string]string{
		"quikapp-secrets": {
			"QUIKAPP_DATABASE_URL":    "postgres://quikapp:password@db.database:5432/quikapp?sslmode=require",
			"QUIKAPP_JWT_PRIVATE_KEY": string(signingKeyPEM(t)),
			"QUIKAPP_S3_ACCESS_KEY":   "AKIAEXAMPLE",
			"QUIKAPP_S3_SECRET_KEY":   "example-secret-key",
		},
		"notify-secrets": {
			"NOTIFY_AUTH_JWT_SECRET":   "6f1c2b3a4d5e6f708192a3b4c5d6e7f80123456789abcdef0123456789abcdef",
			"NOTIFY_INTERNAL_TOKEN":    "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
			"NOTIFY_POSTGRES_DSN":      "postgres://notify:password@db.notify:5432/notify?sslmode=require",
			"TWILIO_AUTH_TOKEN":        "example-twilio-token",
			"FCM_SERVICE_ACCOUNT_JSON": `{"type": "service_account"}`,
		},
	}
}

// signingKeyPEM is a fresh Ed25519 key, as `openssl genpkey` makes one.
func signingKeyPEM(t *testing.T) []byte {
	t.Helper()
	k, err := token.GenerateEd25519()
	if err != nil {
		t.Fatal(err)
	}
	b, err := token.MarshalPrivateKeyPEM(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// containerEnv is the environment Kubernetes would give c: envFrom first,
// then env, each reference resolved against the rendered objects or the
// external secrets. A reference to nothing is an error unless optional.
func containerEnv(r *rendered, c corev1.Container, external map[string]map[string]string) (map[string]string, error) {
	out := map[string]string{}
	configMap := func(name string) (map[string]string, bool) {
		if cm, ok := r.ConfigMaps[name]; ok {
			return cm.Data, true
		}
		return nil, false
	}
	secret := func(name string) (map[string]string, bool) {
		if s, ok := r.Secrets[name]; ok {
			data := map[string]string{}
			for k, v := range s.Data {
				data[k] = string(v)
			}
			for k, v := range s.StringData {
				data[k] = v
			}
			return data, true
		}
		data, ok := external[name]
		return data, ok
	}
	for _, from := range c.EnvFrom {
		var data map[string]string
		var ok bool
		var name string
		optional := false
		switch {
		case from.ConfigMapRef != nil:
			name = from.ConfigMapRef.Name
			data, ok = configMap(name)
			optional = from.ConfigMapRef.Optional != nil && *from.ConfigMapRef.Optional
		case from.SecretRef != nil:
			name = from.SecretRef.Name
			data, ok = secret(name)
			optional = from.SecretRef.Optional != nil && *from.SecretRef.Optional
		default:
			return nil, fmt.Errorf("envFrom entry names no source")
		}
		if !ok {
			if optional {
				continue
			}
			return nil, fmt.Errorf("envFrom %s: no such ConfigMap or Secret", name)
		}
		for k, v := range data {
			out[from.Prefix+k] = v
		}
	}
	for _, e := range c.Env {
		var kind, name, key string
		var data map[string]string
		var optional *bool
		switch {
		case e.ValueFrom == nil:
			out[e.Name] = e.Value
			continue
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			kind, name, key, optional = "ConfigMap", ref.Name, ref.Key, ref.Optional
			data, _ = configMap(name)
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			kind, name, key, optional = "Secret", ref.Name, ref.Key, ref.Optional
			data, _ = secret(name)
		default:
			return nil, fmt.Errorf("env %s: a value source this test does not resolve", e.Name)
		}
		if v, ok := data[key]; ok {
			out[e.Name] = v
		} else if optional == nil || !*optional {
			return nil, fmt.Errorf("env %s: %s %s has no key %s", e.Name, kind, name, key)
		}
	}
	return out, nil
}
