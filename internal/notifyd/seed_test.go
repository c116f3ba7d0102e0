package notifyd_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	pb "github.com/quikapp/quikapp/api/notify/v1/notifyv1"
	"github.com/quikapp/quikapp/internal/store/storetest"
)

// notifyd starts with the environment of the seed's Deployment
// (../shared/seeds/notify-kubernetes-deployment.md), its secrets filled in
// and its addresses pointed at this machine, and serves: clients with
// HS256 tokens from the seed's issuer, producers with the internal token.
func TestStartsWithTheSeedEnvironment(t *testing.T) {
	mail := &blockingEmail{started: make(chan struct{}), release: make(chan struct{})}
	close(mail.release)
	const jwtSecret = "4f1c2a9b8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170f6e5d4c"
	vars := map[string]string{
		// env
		"NOTIFY_STORE_DRIVER":          "postgres",
		"NOTIFY_POSTGRES_AUTOMIGRATE":  "true",
		"NOTIFY_LOG_LEVEL":             "info",
		"NOTIFY_SHUTDOWN_TIMEOUT":      "30s",
		"NOTIFY_AUTH_JWT_ISSUER":       "https://identity.example.com",
		"NOTIFY_ALLOWED_ORIGINS":       "https://app.example.com",
		"NOTIFY_EMAIL_PROVIDER":        "emailservice",
		"NOTIFY_EMAIL_SERVICE_ADDRESS": startEmailService(t, mail), // emailservice.email:50053 in the cluster
		"NOTIFY_EMAIL_FROM":            "noreply@example.com",
		"NOTIFY_SMS_PROVIDER":          "twilio",
		"NOTIFY_SMS_ACCOUNT_SID":       "ACxxxx",
		"NOTIFY_SMS_FROM":              "+15555550000",
		// envFrom: notify-secrets
		"NOTIFY_AUTH_JWT_SECRET":   jwtSecret,
		"NOTIFY_INTERNAL_TOKEN":    internalToken,
		"NOTIFY_POSTGRES_DSN":      storetest.NewPostgresSchema(t),
		"TWILIO_AUTH_TOKEN":        "twilio-auth-token",
		"FCM_SERVICE_ACCOUNT_JSON": `{ "type": "service_account" }`,
	}
	// Twilio, reached through the base-URL override; it must see the
	// account from the env and the token from the seed's TWILIO_AUTH_TOKEN.
	var smsMu sync.Mutex
	var smsTo []string
	twilio := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != "ACxxxx" || pass != "twilio-auth-token" || r.URL.Path != "/2010-04-01/Accounts/ACxxxx/Messages.json" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"code":20003,"message":"Authenticate","status":401}`))
			return
		}
		_ = r.ParseForm()
		smsMu.Lock()
		smsTo = append(smsTo, r.PostForm.Get("From")+">"+r.PostForm.Get("To"))
		smsMu.Unlock()
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"sid":"SM1","status":"queued"}`))
	}))
	defer twilio.Close()
	vars["NOTIFY_SMS_BASE_URL"] = twilio.URL
	r := newDaemon(t, loadConfig(t, vars))
	r.start(t)
	if code, body := r.health(t); code != 200 || body != `{"status":"ok"}` {
		t.Fatalf("healthz: %d %s", code, body)
	}
	client, internal := r.clients()
	resp, err := internal.Notify(context.Background(), internalReq(&pb.NotifyRequest{TenantId: "acme", NotificationId: "n1", UserIds: []string{"u1"}, Title: "hello"}))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Msg.Delivered < 1 {
		t.Fatalf("counts %v", resp.Msg)
	}
	token := hs256(jwtSecret, `{"sub":"u1","tenant":"acme","iss":"https://identity.example.com","exp":4102444800}`)
	page, err := client.GetNotifications(context.Background(), bearer(token, &pb.GetNotificationsRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Msg.Notifications) != 1 || page.Msg.Notifications[0].Title != "hello" {
		t.Fatalf("inbox %v", page.Msg)
	}
	sms, err := internal.Notify(context.Background(), internalReq(&pb.NotifyRequest{TenantId: "acme", NotificationId: "n2", UserIds: []string{"u1"},
		Channels:  []pb.DeliveryChannel{pb.DeliveryChannel_DELIVERY_CHANNEL_SMS},
		Addresses: map[string]*pb.ChannelAddresses{"u1": {ByChannel: map[string]string{"sms": "+15555550123"}}}, Body: "code 1234"}))
	if err != nil || sms.Msg.Delivered != 1 {
		t.Fatalf("SMS notify: %v %v", sms, err)
	}
	if len(smsTo) != 1 || smsTo[0] != "+15555550000>+15555550123" {
		t.Fatalf("Twilio saw %v", smsTo)
	}
	wrongIssuer := hs256(jwtSecret, `{"sub":"u1","tenant":"acme","iss":"https://evil.example.com"}`)
	if _, err := client.GetNotifications(context.Background(), bearer(wrongIssuer, &pb.GetNotificationsRequest{})); err == nil {
		t.Fatal("token from another issuer accepted")
	}
}

// With automigrate off, an unmigrated database stops the start with a
// message saying what to do; a migrated one starts.
func TestNoAutomigrateNeedsAMigratedDatabase(t *testing.T) {
	dsn := storetest.NewPostgresSchema(t)
	vars := devVars("NOTIFY_STORE_DRIVER", "postgres", "NOTIFY_POSTGRES_DSN", dsn, "NOTIFY_POSTGRES_AUTOMIGRATE", "false")
	r := newDaemon(t, loadConfig(t, vars))
	err := r.d.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "NOTIFY_POSTGRES_AUTOMIGRATE") {
		t.Fatalf("Run on an unmigrated database: %v", err)
	}
	vars["NOTIFY_POSTGRES_AUTOMIGRATE"] = "true"
	first := newDaemon(t, loadConfig(t, vars))
	first.start(t)
	first.cancel()
	<-first.done
	vars["NOTIFY_POSTGRES_AUTOMIGRATE"] = "false"
	again := newDaemon(t, loadConfig(t, vars))
	again.start(t)
	if code, _ := again.health(t); code != 200 {
		t.Fatalf("migrated database with automigrate off: %d", code)
	}
}
