// Package notifytest is the conformance suite every notify.Store passes:
// the 24 store rules of the contract (§9, subtests R01…R24), its "also
// required" list (A1…A3), our own rules (X…) and the delivery log (D…).
//
// Each subtest gets a fresh store from newStore and, where a rule is about
// isolation, first writes decoy rows a broken store would leak, so every
// case can fail (notifytest's own tests run the suite against deliberately
// broken stores to prove it).
package notifytest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/quikapp/quikapp/internal/notify"
)

// Run runs the whole suite against stores made by newStore, which is
// called once per subtest and must return an empty store.
func Run(t *testing.T, newStore func(t *testing.T) notify.Store) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			c.fn(ctx, t, s)
		})
	}
}

// Names lists the subtests in order (for tools that map failures to rules).
func Names() []string {
	out := make([]string, len(cases))
	for i, c := range cases {
		out[i] = c.name
	}
	return out
}

type testCase struct {
	name string
	fn   func(ctx context.Context, t *testing.T, s notify.Store)
}

var cases = []testCase{
	{"R01_CreateAndGet", testCreateAndGet},
	{"R02_GetUnknown", testGetUnknown},
	{"R03_IdempotentCreate", testIdempotentCreate},
	{"R04_UpdateStatus", testUpdateStatus},
	{"R05_Pagination", testPagination},
	{"R06_UnreadOnly", testUnreadOnly},
	{"R07_DeviceUpsert", testDeviceUpsert},
	{"R08_TenantIsolation", testTenantIsolation},
	{"R09_PaginateAll", testPaginateAll},
	{"R10_CursorStrictlyLess", testCursorStrictlyLess},
	{"R11_FreshTenantQuery", testFreshTenantQuery},
	{"R12_FreshTenantGet", testFreshTenantGet},
	{"R13_FreshTenantDevices", testFreshTenantDevices},
	{"R14_RoundTripStrings", testRoundTripStrings},
	{"R15_RoundTripTimestamps", testRoundTripTimestamps},
	{"R16_LargeBodies", testLargeBodies},
	{"R17_ParallelDistinctCreates", testParallelDistinctCreates},
	{"R18_ParallelSameKeyCreates", testParallelSameKeyCreates},
	{"R19_ParallelDeviceUpserts", testParallelDeviceUpserts},
	{"R20_ParallelStatusUpdates", testParallelStatusUpdates},
	{"R21_ReadYourWrites", testReadYourWrites},
	{"R22_LongNotificationID", testLongNotificationID},
	{"R23_NoJoinedKeys", testNoJoinedKeys},
	{"R24_CaseSensitiveDeviceTypes", testCaseSensitiveDeviceTypes},
	{"A1_ListDevicesOrderedByType", testListDevicesOrdered},
	{"A2_UpdateStatusStampsOnlyMatching", testStampsOnlyMatching},
	{"A3_DeviceUpsertChangesOnlyTokenAndLastActive", testDeviceUpsertKeeps},
	{"X1_MalformedIDsNotFound", testMalformedIDs},
	{"X2_IDCaseInsensitive", testIDCaseInsensitive},
	{"X3_UnknownStatusRejected", testUnknownStatus},
	{"X4_ReturnedValuesAreCopies", testCopies},
	{"X5_UnreadCountsEveryNonReadStatus", testUnreadStatuses},
	{"X6_TiesOrderedByIDDesc", testTieOrder},
	{"X7_PageExactFitHasNoCursor", testExactFit},
	{"X8_LimitClamped", testLimitClamp},
	{"X9_UnreadOnlyWithCursor", testUnreadOnlyCursor},
	{"X10_DeviceCreatedAtDefaultsToLastActive", testDeviceCreatedDefault},
	{"X11_Ping", testPing},
	{"X12_DeleteDeviceOnlyWithSameToken", testDeleteDevice},
	{"D1_DeliveriesOldestFirst", testDeliveriesOrder},
	{"D2_DeliveriesScoped", testDeliveriesScoped},
	{"D3_DeliveriesEmpty", testDeliveriesEmpty},
	{"D4_ParallelDeliveries", testParallelDeliveries},
}

// ---- helpers ----

func row(tenant, user, nid string, createdAt int64) notify.Notification {
	return notify.Notification{
		TenantID:       tenant,
		UserID:         user,
		NotificationID: nid,
		SubjectRef:     "ref-" + nid,
		SubjectType:    "type",
		Title:          "title " + nid,
		Body:           "body " + nid,
		Channel:        notify.ChannelInApp,
		Status:         notify.StatusPending,
		CreatedAtMs:    createdAt,
	}
}

func mustCreate(ctx context.Context, t *testing.T, s notify.Store, n notify.Notification) string {
	t.Helper()
	id, created, err := s.CreateNotification(ctx, n)
	if err != nil {
		t.Fatalf("create %s/%s/%s: %v", n.TenantID, n.UserID, n.NotificationID, err)
	}
	if !created {
		t.Fatalf("create %s/%s/%s: created=false for a new key", n.TenantID, n.UserID, n.NotificationID)
	}
	if id == "" {
		t.Fatalf("create %s/%s/%s: empty id", n.TenantID, n.UserID, n.NotificationID)
	}
	return id
}

func mustGet(ctx context.Context, t *testing.T, s notify.Store, tenant, user, id string) notify.Notification {
	t.Helper()
	n, err := s.GetNotification(ctx, tenant, user, id)
	if err != nil {
		t.Fatalf("get %s/%s/%s: %v", tenant, user, id, err)
	}
	return n
}

func mustList(ctx context.Context, t *testing.T, s notify.Store, q notify.Query) notify.Page {
	t.Helper()
	p, err := s.ListNotifications(ctx, q)
	if err != nil {
		t.Fatalf("list %+v: %v", q, err)
	}
	return p
}

func mustUpdate(ctx context.Context, t *testing.T, s notify.Store, tenant, user, id, status string, at int64) {
	t.Helper()
	if err := s.UpdateStatus(ctx, tenant, user, id, status, at); err != nil {
		t.Fatalf("update %s to %s: %v", id, status, err)
	}
}

func mustUpsert(ctx context.Context, t *testing.T, s notify.Store, d notify.Device) notify.Device {
	t.Helper()
	out, err := s.UpsertDevice(ctx, d)
	if err != nil {
		t.Fatalf("upsert device %s/%s/%s: %v", d.TenantID, d.UserID, d.DeviceType, err)
	}
	return out
}

func mustDevices(ctx context.Context, t *testing.T, s notify.Store, tenant, user string) []notify.Device {
	t.Helper()
	ds, err := s.ListDevices(ctx, tenant, user)
	if err != nil {
		t.Fatalf("list devices %s/%s: %v", tenant, user, err)
	}
	return ds
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, notify.ErrNotFound) {
		t.Errorf("%s: err = %v, want notify.ErrNotFound", what, err)
	}
}

func createdAts(items []notify.Notification) []int64 {
	out := make([]int64, len(items))
	for i, n := range items {
		out[i] = n.CreatedAtMs
	}
	return out
}

// parallel runs fn(i) for i in [0, n) at once, released together.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}

// ---- Basic (§9 rules 1–8) ----

func testCreateAndGet(ctx context.Context, t *testing.T, s notify.Store) {
	in := notify.Notification{
		TenantID: "acme", UserID: "u1", NotificationID: "n1",
		SubjectRef: "order/42", SubjectType: "order", Title: "Shipped", Body: "Your order shipped",
		Channel: notify.ChannelEmail, Status: notify.StatusPending, CreatedAtMs: 1_700_000_000_123,
	}
	id, created, err := s.CreateNotification(ctx, in)
	if err != nil || !created {
		t.Fatalf("first create: created=%v err=%v, want created", created, err)
	}
	if u, err := uuid.Parse(id); err != nil || u.String() != id {
		t.Fatalf("id %q is not a lower-case canonical UUID", id)
	}
	got := mustGet(ctx, t, s, "acme", "u1", id)
	want := in
	want.ID = id
	if got != want {
		t.Fatalf("get = %+v\nwant  %+v", got, want)
	}
	if got.Status != notify.StatusPending {
		t.Fatalf("status = %q, want pending", got.Status)
	}
	// A second row gets a different id.
	id2 := mustCreate(ctx, t, s, row("acme", "u1", "n2", 1))
	if id2 == id {
		t.Fatal("two rows share an id")
	}
}

func testGetUnknown(ctx context.Context, t *testing.T, s notify.Store) {
	mustCreate(ctx, t, s, row("acme", "u1", "n1", 1))
	_, err := s.GetNotification(ctx, "acme", "u1", uuid.NewString())
	wantNotFound(t, "get unknown id", err)
}

func testIdempotentCreate(ctx context.Context, t *testing.T, s notify.Store) {
	first := row("acme", "u1", "dup", 1000)
	id := mustCreate(ctx, t, s, first)
	second := first
	second.Title, second.Body, second.SubjectRef, second.SubjectType = "changed", "changed", "changed", "changed"
	second.Channel, second.CreatedAtMs, second.Status = notify.ChannelSMS, 2000, notify.StatusFailed
	id2, created, err := s.CreateNotification(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	if created {
		t.Error("second create of one key returned created=true")
	}
	if id2 != id {
		t.Errorf("second create returned id %q, want the original %q", id2, id)
	}
	got := mustGet(ctx, t, s, "acme", "u1", id)
	want := first
	want.ID = id
	if got != want {
		t.Errorf("stored row changed by the second create:\n got  %+v\n want %+v", got, want)
	}
	if p := mustList(ctx, t, s, notify.Query{TenantID: "acme", UserID: "u1", Limit: 10}); len(p.Items) != 1 {
		t.Errorf("rows = %d, want 1", len(p.Items))
	}
}

func testUpdateStatus(ctx context.Context, t *testing.T, s notify.Store) {
	id := mustCreate(ctx, t, s, row("acme", "u1", "n1", 1000))
	mustUpdate(ctx, t, s, "acme", "u1", id, notify.StatusDelivered, 1111)
	got := mustGet(ctx, t, s, "acme", "u1", id)
	if got.Status != notify.StatusDelivered || got.DeliveredAtMs != 1111 {
		t.Errorf("after delivered@1111: status=%q delivered_at=%d", got.Status, got.DeliveredAtMs)
	}
	mustUpdate(ctx, t, s, "acme", "u1", id, notify.StatusRead, 2222)
	got = mustGet(ctx, t, s, "acme", "u1", id)
	if got.Status != notify.StatusRead || got.ReadAtMs != 2222 || got.DeliveredAtMs != 1111 {
		t.Errorf("after read@2222: status=%q read_at=%d delivered_at=%d", got.Status, got.ReadAtMs, got.DeliveredAtMs)
	}
	wantNotFound(t, "update unknown id", s.UpdateStatus(ctx, "acme", "u1", uuid.NewString(), notify.StatusRead, 1))
}

func testPagination(ctx context.Context, t *testing.T, s notify.Store) {
	for i := range 5 {
		ts := int64(1000 + 10*i)
		mustCreate(ctx, t, s, row("acme", "u1", fmt.Sprint("p", ts), ts))
	}
	wantPages := [][]int64{{1040, 1030}, {1020, 1010}, {1000}}
	wantNext := []int64{1030, 1010, 0}
	before := int64(0)
	for i := range wantPages {
		p := mustList(ctx, t, s, notify.Query{TenantID: "acme", UserID: "u1", Before: before, Limit: 2})
		if got := createdAts(p.Items); !slices.Equal(got, wantPages[i]) {
			t.Fatalf("page %d = %v, want %v", i+1, got, wantPages[i])
		}
		if p.NextBefore != wantNext[i] {
			t.Fatalf("page %d cursor = %d, want %d", i+1, p.NextBefore, wantNext[i])
		}
		before = p.NextBefore
	}
}

func testUnreadOnly(ctx context.Context, t *testing.T, s notify.Store) {
	var ids []string
	for i := range 3 {
		ids = append(ids, mustCreate(ctx, t, s, row("acme", "u1", fmt.Sprint("n", i), int64(100+i))))
	}
	mustUpdate(ctx, t, s, "acme", "u1", ids[1], notify.StatusRead, 500)
	p := mustList(ctx, t, s, notify.Query{TenantID: "acme", UserID: "u1", Limit: 10, UnreadOnly: true})
	if len(p.Items) != 2 || p.Unread != 2 {
		t.Fatalf("unread_only: %d rows, unread=%d; want 2, 2", len(p.Items), p.Unread)
	}
	for _, n := range p.Items {
		if n.Status == notify.StatusRead || n.ID == ids[1] {
			t.Errorf("unread_only returned the read row %s", n.ID)
		}
	}
	p = mustList(ctx, t, s, notify.Query{TenantID: "acme", UserID: "u1", Limit: 10})
	if len(p.Items) != 3 || p.Unread != 2 {
		t.Fatalf("unfiltered: %d rows, unread=%d; want 3, 2", len(p.Items), p.Unread)
	}
}

func testDeviceUpsert(ctx context.Context, t *testing.T, s notify.Store) {
	a := mustUpsert(ctx, t, s, notify.Device{TenantID: "acme", UserID: "u1", DeviceType: notify.DeviceAndroid, Token: "tok-1", LastActiveMs: 10})
	if a.ID == "" {
		t.Fatal("upsert returned no id")
	}
	b := mustUpsert(ctx, t, s, notify.Device{TenantID: "acme", UserID: "u1", DeviceType: notify.DeviceAndroid, Token: "tok-2", LastActiveMs: 20})
	if b.ID != a.ID || b.Token != "tok-2" {
		t.Fatalf("second upsert: id=%q token=%q, want id %q token tok-2", b.ID, b.Token, a.ID)
	}
	ds := mustDevices(ctx, t, s, "acme", "u1")
	if len(ds) != 1 || ds[0].ID != a.ID || ds[0].Token != "tok-2" {
		t.Fatalf("devices = %+v, want one android with tok-2", ds)
	}
	c := mustUpsert(ctx, t, s, notify.Device{TenantID: "acme", UserID: "u1", DeviceType: notify.DeviceIOS, Token: "tok-3", LastActiveMs: 30})
	if c.ID == a.ID {
		t.Fatal("a different device type reused the id")
	}
	if ds := mustDevices(ctx, t, s, "acme", "u1"); len(ds) != 2 {
		t.Fatalf("devices = %d, want 2", len(ds))
	}
}

func testTenantIsolation(ctx context.Context, t *testing.T, s notify.Store) {
	keys := []struct{ tenant, user string }{{"acme", "u1"}, {"acme", "u2"}, {"beta", "u1"}}
	ids := map[string]string{}
	for i, k := range keys {
		ids[k.tenant+"/"+k.user] = mustCreate(ctx, t, s, row(k.tenant, k.user, "x", int64(100+i)))
	}
	if len(map[string]bool{ids["acme/u1"]: true, ids["acme/u2"]: true, ids["beta/u1"]: true}) != 3 {
		t.Fatalf("ids not distinct: %v", ids)
	}
	p := mustList(ctx, t, s, notify.Query{TenantID: "acme", UserID: "u1", Limit: 10})
	if len(p.Items) != 1 || p.Items[0].ID != ids["acme/u1"] || p.Unread != 1 {
		t.Fatalf("acme/u1 sees %+v (unread %d), want only its own row", p.Items, p.Unread)
	}
	id := ids["acme/u1"]
	_, err := s.GetNotification(ctx, "acme", "u2", id)
	wantNotFound(t, "get by another user", err)
	_, err = s.GetNotification(ctx, "beta", "u1", id)
	wantNotFound(t, "get by another tenant", err)
	wantNotFound(t, "update by another user", s.UpdateStatus(ctx, "acme", "u2", id, notify.StatusRead, 9))
	wantNotFound(t, "update by another tenant", s.UpdateStatus(ctx, "beta", "u1", id, notify.StatusRead, 9))
	if got := mustGet(ctx, t, s, "acme", "u1", id); got.Status != notify.StatusPending || got.ReadAtMs != 0 {
		t.Errorf("another user's update changed the row: %+v", got)
	}
}

// ---- Pagination (9–10) ----

func testPaginateAll(ctx context.Context, t *testing.T, s notify.Store) {
	const total = 250
	want := map[string]bool{}
	for i := range total {
		want[mustCreate(ctx, t, s, row("acme", "u1", fmt.Sprint("n", i), int64(1_000+i)))] = true
	}
	seen := map[string]int{}
	before, pages := int64(0), 0
	for {
		p := mustList(ctx, t, s, notify.Query{TenantID: "acme", UserID: "u1", Before: before, Limit: 100})
		pages++
		for _, n := range p.Items {
			seen[n.ID]++
		}
		if p.NextBefore == 0 {
			break
		}
		if pages > 10 {
			t.Fatal("cursor never ends")
		}
		before = p.NextBefore
	}
	if pages != 3 {
		t.Errorf("pages = %d, want 3", pages)
	}
	if len(seen) != total {
		t.Errorf("distinct rows seen = %d, want %d", len(seen), total)
	}
	for id, c := range seen {
		if c != 1 || !want[id] {
			t.Errorf("row %s seen %d times (known=%v)", id, c, want[id])
		}
	}
}

func testCursorStrictlyLess(ctx context.Context, t *testing.T, s notify.Store) {
	for _, ts := range []int64{1000, 2000, 3000} {
		mustCreate(ctx, t, s, row("acme", "u1", fmt.Sprint("n", ts), ts))
	}
	p := mustList(ctx, t, s, notify.Query{TenantID: "acme", UserID: "u1", Before: 2000, Limit: 10})
	if got := createdAts(p.Items); !slices.Equal(got, []int64{1000}) || p.NextBefore != 0 {
		t.Fatalf("before 2000: %v next=%d, want [1000] next=0", got, p.NextBefore)
	}
}

// ---- Fresh tenant (11–13) ----

func testFreshTenantQuery(ctx context.Context, t *testing.T, s notify.Store) {
	mustCreate(ctx, t, s, row("other", "u1", "n1", 1))
	p, err := s.ListNotifications(ctx, notify.Query{TenantID: "fresh", UserID: "u1", Limit: 20})
	if err != nil {
		t.Fatalf("query on a fresh tenant: %v", err)
	}
	if len(p.Items) != 0 || p.NextBefore != 0 || p.Unread != 0 {
		t.Fatalf("fresh tenant page = %+v, want empty", p)
	}
}

func testFreshTenantGet(ctx context.Context, t *testing.T, s notify.Store) {
	id := mustCreate(ctx, t, s, row("other", "u1", "n1", 1))
	_, err := s.GetNotification(ctx, "fresh", "u1", id)
	wantNotFound(t, "get another tenant's id on a fresh tenant", err)
	_, err = s.GetNotification(ctx, "fresh", "u1", uuid.NewString())
	wantNotFound(t, "get on a fresh tenant", err)
}

func testFreshTenantDevices(ctx context.Context, t *testing.T, s notify.Store) {
	mustUpsert(ctx, t, s, notify.Device{TenantID: "other", UserID: "u1", DeviceType: notify.DeviceIOS, Token: "t", LastActiveMs: 1})
	ds, err := s.ListDevices(ctx, "fresh", "u1")
	if err != nil {
		t.Fatalf("list devices on a fresh tenant: %v", err)
	}
	if len(ds) != 0 {
		t.Fatalf("devices on a fresh tenant = %+v, want none", ds)
	}
}

// ---- Round trip (14–16) ----

var roundTripStrings = map[string]string{
	"unicode":   "héllo wörld — 你好, мир — 🎉👩‍👩‍👧‍👦 \u200b\u00a0é",
	"quotes":    `it's "quoted" \back\slash\ ` + "\nnew line\ttab\r\n",
	"injection": `'); DROP TABLE notify_notifications; -- " OR 1=1 /* */`,
	"wildcards": `100% _under_ %_% \% \_ [a-z]`,
	"json":      `{"a":[1,2,{"b":null}],"c":"\u00e9\n","d":true}`,
	"edges":     "  leading and trailing spaces \t ",
	"long":      strings.Repeat("abcdefghij", 1000),
	"one":       "x",
}

func testRoundTripStrings(ctx context.Context, t *testing.T, s notify.Store) {
	i := 0
	for name, v := range roundTripStrings {
		i++
		in := notify.Notification{
			TenantID: "acme", UserID: "u1", NotificationID: "rt-" + name,
			Title: v, Body: v + "|body", SubjectRef: "ref|" + v, SubjectType: v + "|type",
			Channel: notify.ChannelInApp, Status: notify.StatusPending, CreatedAtMs: int64(i),
		}
		id := mustCreate(ctx, t, s, in)
		got := mustGet(ctx, t, s, "acme", "u1", id)
		in.ID = id
		if got != in {
			t.Errorf("%s: get does not round-trip:\n got  %q %q %q %q\n want %q %q %q %q", name,
				got.Title, got.Body, got.SubjectRef, got.SubjectType, in.Title, in.Body, in.SubjectRef, in.SubjectType)
		}
	}
	p := mustList(ctx, t, s, notify.Query{TenantID: "acme", UserID: "u1", Limit: 100})
	if len(p.Items) != len(roundTripStrings) {
		t.Fatalf("list: %d rows, want %d", len(p.Items), len(roundTripStrings))
	}
	for _, n := range p.Items {
		v := roundTripStrings[strings.TrimPrefix(n.NotificationID, "rt-")]
		if n.Title != v || n.Body != v+"|body" || n.SubjectRef != "ref|"+v || n.SubjectType != v+"|type" {
			t.Errorf("%s: list does not round-trip", n.NotificationID)
		}
	}
}

func testRoundTripTimestamps(ctx context.Context, t *testing.T, s notify.Store) {
	values := []int64{1, 1_700_000_000_000, 1<<53 - 1, 1 << 53, 1<<53 + 1, math.MaxInt64}
	ids := map[int64]string{}
	for _, v := range values {
		id := mustCreate(ctx, t, s, row("acme", "u1", fmt.Sprint("ts", v), v))
		mustUpdate(ctx, t, s, "acme", "u1", id, notify.StatusDelivered, v)
		ids[v] = id
	}
	for _, v := range values {
		got := mustGet(ctx, t, s, "acme", "u1", ids[v])
		if got.CreatedAtMs != v || got.DeliveredAtMs != v {
			t.Errorf("%d came back as created=%d delivered=%d", v, got.CreatedAtMs, got.DeliveredAtMs)
		}
	}
	p := mustList(ctx, t, s, notify.Query{TenantID: "acme", UserID: "u1", Limit: 100})
	want := slices.Clone(values)
	slices.Reverse(want)
	if got := createdAts(p.Items); !slices.Equal(got, want) {
		t.Errorf("list order = %v, want %v", got, want)
	}
	// The cursor compares full 64-bit values too.
	p = mustList(ctx, t, s, notify.Query{TenantID: "acme", UserID: "u1", Before: 1<<53 + 1, Limit: 100})
	if got := createdAts(p.Items); !slices.Equal(got, []int64{1 << 53, 1<<53 - 1, 1_700_000_000_000, 1}) {
		t.Errorf("before 2^53+1 = %v", got)
	}
}

// bigText returns exactly n bytes of numbered lines, so any truncation,
// reordering or re-encoding shows.
func bigText(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%015d\n", i)
	}
	return b.String()[:n]
}

func testLargeBodies(ctx context.Context, t *testing.T, s notify.Store) {
	for _, size := range []int{64 << 10, 512 << 10} {
		body := bigText(size)
		id := mustCreate(ctx, t, s, notify.Notification{
			TenantID: "acme", UserID: "u1", NotificationID: fmt.Sprint("big", size),
			Body: body, Status: notify.StatusPending, CreatedAtMs: int64(size),
		})
		got := mustGet(ctx, t, s, "acme", "u1", id)
		if len(got.Body) != size || got.Body != body {
			t.Errorf("%d-byte body came back with %d bytes (equal=%v)", size, len(got.Body), got.Body == body)
		}
	}
}

// ---- Concurrency (17–21) ----

func testParallelDistinctCreates(ctx context.Context, t *testing.T, s notify.Store) {
	const n = 16
	ids := make([]string, n)
	parallel(n, func(i int) {
		id, created, err := s.CreateNotification(ctx, row("acme", "u1", fmt.Sprint("n", i), int64(100+i)))
		if err != nil || !created {
			t.Errorf("create %d: created=%v err=%v", i, created, err)
		}
		ids[i] = id
	})
	p := mustList(ctx, t, s, notify.Query{TenantID: "acme", UserID: "u1", Limit: 100})
	if len(p.Items) != n || p.Unread != n {
		t.Fatalf("rows = %d (unread %d), want %d", len(p.Items), p.Unread, n)
	}
	for _, n := range p.Items {
		if !slices.Contains(ids, n.ID) {
			t.Errorf("listed id %s was not returned by any create", n.ID)
		}
	}
}

func testParallelSameKeyCreates(ctx context.Context, t *testing.T, s notify.Store) {
	const n = 16
	ids := make([]string, n)
	createdBy := make([]bool, n)
	parallel(n, func(i int) {
		in := row("acme", "u1", "same", int64(100+i))
		in.Title = fmt.Sprint("writer ", i)
		id, created, err := s.CreateNotification(ctx, in)
		if err != nil {
			t.Errorf("create %d: %v", i, err)
		}
		ids[i], createdBy[i] = id, created
	})
	winners := 0
	winner := -1
	for i := range n {
		if createdBy[i] {
			winners++
			winner = i
		}
		if ids[i] != ids[0] {
			t.Errorf("writer %d got id %q, writer 0 got %q", i, ids[i], ids[0])
		}
	}
	if winners != 1 {
		t.Fatalf("created=true returned %d times, want exactly 1", winners)
	}
	p := mustList(ctx, t, s, notify.Query{TenantID: "acme", UserID: "u1", Limit: 100})
	if len(p.Items) != 1 || p.Items[0].ID != ids[0] {
		t.Fatalf("rows = %+v, want one row with id %s", p.Items, ids[0])
	}
	if p.Items[0].Title != fmt.Sprint("writer ", winner) {
		t.Errorf("stored title %q, want the winner's (writer %d)", p.Items[0].Title, winner)
	}
}

func testParallelDeviceUpserts(ctx context.Context, t *testing.T, s notify.Store) {
	const n = 16
	ids := make([]string, n)
	parallel(n, func(i int) {
		d, err := s.UpsertDevice(ctx, notify.Device{TenantID: "acme", UserID: "u1", DeviceType: notify.DeviceBrowser,
			Token: fmt.Sprint("tok-", i), LastActiveMs: int64(100 + i)})
		if err != nil {
			t.Errorf("upsert %d: %v", i, err)
		}
		ids[i] = d.ID
	})
	ds := mustDevices(ctx, t, s, "acme", "u1")
	if len(ds) != 1 {
		t.Fatalf("devices = %d, want 1", len(ds))
	}
	for i, id := range ids {
		if id != ds[0].ID {
			t.Errorf("upsert %d returned id %q, stored device has %q", i, id, ds[0].ID)
		}
	}
	if !strings.HasPrefix(ds[0].Token, "tok-") {
		t.Errorf("token = %q", ds[0].Token)
	}
}

func testParallelStatusUpdates(ctx context.Context, t *testing.T, s notify.Store) {
	id := mustCreate(ctx, t, s, row("acme", "u1", "n1", 100))
	statuses := []string{notify.StatusDelivered, notify.StatusAcked, notify.StatusRead}
	parallel(16, func(i int) {
		if err := s.UpdateStatus(ctx, "acme", "u1", id, statuses[i%3], int64(1000+i)); err != nil {
			t.Errorf("update %d: %v", i, err)
		}
	})
	got := mustGet(ctx, t, s, "acme", "u1", id)
	if !slices.Contains(statuses, got.Status) {
		t.Fatalf("final status %q, want one of %v", got.Status, statuses)
	}
	// Every status was written at least five times, so each stamp holds one
	// of the values written for it.
	for _, c := range []struct {
		at  int64
		mod int
	}{{got.DeliveredAtMs, 0}, {got.AckAtMs, 1}, {got.ReadAtMs, 2}} {
		if c.at < 1000 || c.at > 1015 || int(c.at-1000)%3 != c.mod {
			t.Errorf("stamp %d was not written by an update of the matching status", c.at)
		}
	}
}

func testReadYourWrites(ctx context.Context, t *testing.T, s notify.Store) {
	parallel(32, func(i int) {
		user := fmt.Sprint("writer-", i)
		id, _, err := s.CreateNotification(ctx, row("acme", user, "n", int64(100+i)))
		if err != nil {
			t.Errorf("create %d: %v", i, err)
			return
		}
		p, err := s.ListNotifications(ctx, notify.Query{TenantID: "acme", UserID: user, Limit: 10})
		if err != nil {
			t.Errorf("list %d: %v", i, err)
			return
		}
		if len(p.Items) != 1 || p.Items[0].ID != id || p.Unread != 1 {
			t.Errorf("writer %d does not see its row right after creating it: %+v", i, p)
		}
		if _, err := s.GetNotification(ctx, "acme", user, id); err != nil {
			t.Errorf("writer %d: get own row: %v", i, err)
		}
	})
}

// ---- Key edges (22–24) ----

func testLongNotificationID(ctx context.Context, t *testing.T, s notify.Store) {
	nid := strings.Repeat("n", 255) + "Z" // 256 characters
	id := mustCreate(ctx, t, s, row("acme", "u1", nid, 1))
	again, created, err := s.CreateNotification(ctx, row("acme", "u1", nid, 2))
	if err != nil || created || again != id {
		t.Fatalf("re-create: id=%q created=%v err=%v, want %q false", again, created, err, id)
	}
	if got := mustGet(ctx, t, s, "acme", "u1", id); got.NotificationID != nid {
		t.Fatalf("notification_id came back with %d chars", len(got.NotificationID))
	}
	// A prefix is a different key.
	mustCreate(ctx, t, s, row("acme", "u1", nid[:255], 3))
}

func testNoJoinedKeys(ctx context.Context, t *testing.T, s notify.Store) {
	pairs := [][2]notify.Notification{
		{row("acme", "u1", "n1|n2", 1), row("acme", "u1|n1", "n2", 2)},
		{row("a", "b:c", "n", 3), row("a:b", "c", "n", 4)},
		{row("t", "u/v", "w", 5), row("t", "u", "v/w", 6)},
	}
	for _, p := range pairs {
		a := mustCreate(ctx, t, s, p[0])
		b := mustCreate(ctx, t, s, p[1])
		if a == b {
			t.Errorf("%+v and %+v share id %s", p[0], p[1], a)
		}
		if got := mustGet(ctx, t, s, p[1].TenantID, p[1].UserID, b); got.NotificationID != p[1].NotificationID {
			t.Errorf("row %s has notification_id %q", b, got.NotificationID)
		}
	}
}

func testCaseSensitiveDeviceTypes(ctx context.Context, t *testing.T, s notify.Store) {
	a := mustUpsert(ctx, t, s, notify.Device{TenantID: "acme", UserID: "u1", DeviceType: "android", Token: "lower", LastActiveMs: 1})
	b := mustUpsert(ctx, t, s, notify.Device{TenantID: "acme", UserID: "u1", DeviceType: "Android", Token: "upper", LastActiveMs: 2})
	if a.ID == b.ID {
		t.Fatal("android and Android share one row")
	}
	ds := mustDevices(ctx, t, s, "acme", "u1")
	if len(ds) != 2 {
		t.Fatalf("devices = %+v, want 2", ds)
	}
	tokens := map[string]string{}
	for _, d := range ds {
		tokens[d.DeviceType] = d.Token
	}
	if tokens["android"] != "lower" || tokens["Android"] != "upper" {
		t.Fatalf("tokens by type = %v", tokens)
	}
}

// ---- Also required ----

func testListDevicesOrdered(ctx context.Context, t *testing.T, s notify.Store) {
	for i, typ := range []string{notify.DeviceIOS, notify.DeviceBrowser, "android", "Android", "android2"} {
		mustUpsert(ctx, t, s, notify.Device{TenantID: "acme", UserID: "u1", DeviceType: typ, Token: typ, LastActiveMs: int64(i + 1)})
	}
	var got []string
	for _, d := range mustDevices(ctx, t, s, "acme", "u1") {
		got = append(got, d.DeviceType)
	}
	// Byte order, whatever the database collation.
	want := []string{"Android", "android", "android2", "browser", "ios"}
	if !slices.Equal(got, want) {
		t.Fatalf("device order = %v, want %v", got, want)
	}
}

func testStampsOnlyMatching(ctx context.Context, t *testing.T, s notify.Store) {
	type stamps struct{ delivered, ack, read int64 }
	cases := []struct {
		status string
		want   stamps
	}{
		{notify.StatusDelivered, stamps{delivered: 77}},
		{notify.StatusAcked, stamps{ack: 77}},
		{notify.StatusRead, stamps{read: 77}},
		{notify.StatusPending, stamps{}},
		{notify.StatusFailed, stamps{}},
	}
	for i, c := range cases {
		id := mustCreate(ctx, t, s, row("acme", "u1", c.status, int64(i+1)))
		mustUpdate(ctx, t, s, "acme", "u1", id, c.status, 77)
		got := mustGet(ctx, t, s, "acme", "u1", id)
		if got.Status != c.status || (stamps{got.DeliveredAtMs, got.AckAtMs, got.ReadAtMs}) != c.want {
			t.Errorf("%s@77: status=%q stamps=%+v, want %+v", c.status, got.Status,
				stamps{got.DeliveredAtMs, got.AckAtMs, got.ReadAtMs}, c.want)
		}
	}
	// Later updates keep earlier stamps; pending and failed clear nothing.
	id := mustCreate(ctx, t, s, row("acme", "u1", "sequence", 100))
	for i, st := range []string{notify.StatusDelivered, notify.StatusAcked, notify.StatusRead, notify.StatusFailed, notify.StatusPending} {
		mustUpdate(ctx, t, s, "acme", "u1", id, st, int64(10*(i+1)))
	}
	got := mustGet(ctx, t, s, "acme", "u1", id)
	if got.Status != notify.StatusPending || (stamps{got.DeliveredAtMs, got.AckAtMs, got.ReadAtMs}) != (stamps{10, 20, 30}) {
		t.Errorf("after the sequence: status=%q stamps=%d/%d/%d, want pending 10/20/30",
			got.Status, got.DeliveredAtMs, got.AckAtMs, got.ReadAtMs)
	}
}

func testDeviceUpsertKeeps(ctx context.Context, t *testing.T, s notify.Store) {
	first := mustUpsert(ctx, t, s, notify.Device{TenantID: "acme", UserID: "u1", DeviceType: notify.DeviceIOS,
		Token: "tok-a", CreatedAtMs: 100, LastActiveMs: 100})
	want := notify.Device{ID: first.ID, TenantID: "acme", UserID: "u1", DeviceType: notify.DeviceIOS,
		Token: "tok-a", CreatedAtMs: 100, LastActiveMs: 100}
	if first != want {
		t.Fatalf("first upsert = %+v, want %+v", first, want)
	}
	second := mustUpsert(ctx, t, s, notify.Device{ID: uuid.NewString(), TenantID: "acme", UserID: "u1", DeviceType: notify.DeviceIOS,
		Token: "tok-b", CreatedAtMs: 999, LastActiveMs: 200})
	want.Token, want.LastActiveMs = "tok-b", 200
	if second != want {
		t.Fatalf("second upsert = %+v, want %+v (only token and last_active change)", second, want)
	}
	ds := mustDevices(ctx, t, s, "acme", "u1")
	if len(ds) != 1 || ds[0] != want {
		t.Fatalf("stored = %+v, want %+v", ds, want)
	}
}

// ---- Ours ----

func testMalformedIDs(ctx context.Context, t *testing.T, s notify.Store) {
	id := mustCreate(ctx, t, s, row("acme", "u1", "n1", 1))
	bad := []string{
		"", " ", "not-a-uuid", "123", "x'; DROP TABLE notify_notifications; --",
		"{" + id + "}", "urn:uuid:" + id, strings.ReplaceAll(id, "-", ""), " " + id, id + " ",
		id[:35], id + "0", strings.Repeat("z", 36), "00000000-0000-0000-0000-00000000000g",
	}
	for _, b := range bad {
		_, err := s.GetNotification(ctx, "acme", "u1", b)
		wantNotFound(t, fmt.Sprintf("get %q", b), err)
		wantNotFound(t, fmt.Sprintf("update %q", b), s.UpdateStatus(ctx, "acme", "u1", b, notify.StatusRead, 5))
	}
	if got := mustGet(ctx, t, s, "acme", "u1", id); got.Status != notify.StatusPending {
		t.Errorf("a malformed-id update changed the row: %+v", got)
	}
}

func testIDCaseInsensitive(ctx context.Context, t *testing.T, s notify.Store) {
	id := mustCreate(ctx, t, s, row("acme", "u1", "n1", 1))
	upper := strings.ToUpper(id)
	got, err := s.GetNotification(ctx, "acme", "u1", upper)
	if err != nil || got.ID != id {
		t.Fatalf("get by upper-case id: id=%q err=%v, want %q", got.ID, err, id)
	}
	mustUpdate(ctx, t, s, "acme", "u1", upper, notify.StatusRead, 9)
	if got := mustGet(ctx, t, s, "acme", "u1", id); got.Status != notify.StatusRead {
		t.Fatalf("update by upper-case id did not apply: %+v", got)
	}
}

func testUnknownStatus(ctx context.Context, t *testing.T, s notify.Store) {
	id := mustCreate(ctx, t, s, row("acme", "u1", "n1", 1))
	for _, st := range []string{"", "bogus", "READ", "gone"} {
		err := s.UpdateStatus(ctx, "acme", "u1", id, st, 5)
		if err == nil || errors.Is(err, notify.ErrNotFound) {
			t.Errorf("update to %q: err = %v, want a non-NotFound error", st, err)
		}
	}
	if got := mustGet(ctx, t, s, "acme", "u1", id); got.Status != notify.StatusPending {
		t.Errorf("status = %q after rejected updates", got.Status)
	}
	bad := row("acme", "u1", "n2", 2)
	bad.Status = ""
	if _, _, err := s.CreateNotification(ctx, bad); err == nil {
		t.Error("create with an empty status succeeded")
	}
	p := mustList(ctx, t, s, notify.Query{TenantID: "acme", UserID: "u1", Limit: 10})
	if len(p.Items) != 1 {
		t.Errorf("rows = %d, want 1 (the rejected create stored a row)", len(p.Items))
	}
}

func testCopies(ctx context.Context, t *testing.T, s notify.Store) {
	id := mustCreate(ctx, t, s, row("acme", "u1", "n1", 1))
	mustUpsert(ctx, t, s, notify.Device{TenantID: "acme", UserID: "u1", DeviceType: notify.DeviceIOS, Token: "tok", LastActiveMs: 1})
	if err := s.RecordDelivery(ctx, notify.Delivery{NotificationID: id, TenantID: "acme", UserID: "u1", Channel: "sms", Status: "delivered", AtMs: 1}); err != nil {
		t.Fatal(err)
	}
	q := notify.Query{TenantID: "acme", UserID: "u1", Limit: 10}
	p := mustList(ctx, t, s, q)
	p.Items[0].Title, p.Items[0].Status = "mutated", notify.StatusRead
	n := mustGet(ctx, t, s, "acme", "u1", id)
	n.Title = "mutated"
	ds := mustDevices(ctx, t, s, "acme", "u1")
	ds[0].Token = "mutated"
	dl, err := s.ListDeliveries(ctx, "acme", "u1", id)
	if err != nil || len(dl) != 1 {
		t.Fatalf("deliveries = %v, %v", dl, err)
	}
	dl[0].Status = "mutated"
	if p := mustList(ctx, t, s, q); p.Items[0].Title != "title n1" || p.Items[0].Status != notify.StatusPending || p.Unread != 1 {
		t.Errorf("mutating a returned page changed the store: %+v", p.Items[0])
	}
	if n := mustGet(ctx, t, s, "acme", "u1", id); n.Title != "title n1" {
		t.Errorf("mutating a returned row changed the store: %+v", n)
	}
	if ds := mustDevices(ctx, t, s, "acme", "u1"); ds[0].Token != "tok" {
		t.Errorf("mutating returned devices changed the store: %+v", ds[0])
	}
	if dl, _ := s.ListDeliveries(ctx, "acme", "u1", id); len(dl) != 1 || dl[0].Status != "delivered" {
		t.Errorf("mutating a returned delivery log changed the store: %+v", dl)
	}
}

func testUnreadStatuses(ctx context.Context, t *testing.T, s notify.Store) {
	all := []string{notify.StatusPending, notify.StatusDelivered, notify.StatusAcked, notify.StatusFailed, notify.StatusRead}
	for i, st := range all {
		id := mustCreate(ctx, t, s, row("acme", "u1", st, int64(i+1)))
		mustUpdate(ctx, t, s, "acme", "u1", id, st, 50)
	}
	p := mustList(ctx, t, s, notify.Query{TenantID: "acme", UserID: "u1", Limit: 10, UnreadOnly: true})
	if p.Unread != 4 || len(p.Items) != 4 {
		t.Fatalf("unread=%d rows=%d, want 4 and 4", p.Unread, len(p.Items))
	}
	for _, n := range p.Items {
		if n.Status == notify.StatusRead {
			t.Errorf("unread_only returned a read row")
		}
	}
	// Moving a row back from read counts it again.
	p = mustList(ctx, t, s, notify.Query{TenantID: "acme", UserID: "u1", Limit: 10})
	for _, n := range p.Items {
		if n.Status == notify.StatusRead {
			mustUpdate(ctx, t, s, "acme", "u1", n.ID, notify.StatusDelivered, 60)
		}
	}
	if p := mustList(ctx, t, s, notify.Query{TenantID: "acme", UserID: "u1", Limit: 1}); p.Unread != 5 {
		t.Errorf("unread=%d after un-reading, want 5", p.Unread)
	}
}

func testTieOrder(ctx context.Context, t *testing.T, s notify.Store) {
	var ids []string
	for i := range 24 {
		ids = append(ids, mustCreate(ctx, t, s, row("acme", "u1", fmt.Sprint("tie", i), 5000)))
	}
	mustCreate(ctx, t, s, row("acme", "u1", "older", 4000))
	mustCreate(ctx, t, s, row("acme", "u1", "newer", 6000))
	slices.SortFunc(ids, func(a, b string) int { return strings.Compare(b, a) }) // id desc, bytewise
	p := mustList(ctx, t, s, notify.Query{TenantID: "acme", UserID: "u1", Limit: 100})
	if len(p.Items) != 26 || p.Items[0].CreatedAtMs != 6000 || p.Items[25].CreatedAtMs != 4000 {
		t.Fatalf("unexpected page: %v", createdAts(p.Items))
	}
	var got []string
	for _, n := range p.Items[1:25] {
		got = append(got, n.ID)
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("ties not ordered by id desc:\n got  %v\n want %v", got, ids)
	}
	// A page boundary inside the ties: the cursor is the timestamp, so the
	// next page skips the remaining ties (the contract allows this).
	p = mustList(ctx, t, s, notify.Query{TenantID: "acme", UserID: "u1", Limit: 5})
	if p.NextBefore != 5000 || p.Items[1].ID != ids[0] || p.Items[4].ID != ids[3] {
		t.Fatalf("first page of 5: next=%d", p.NextBefore)
	}
}

func testExactFit(ctx context.Context, t *testing.T, s notify.Store) {
	for i := range 4 {
		mustCreate(ctx, t, s, row("acme", "u1", fmt.Sprint("n", i), int64(10*(i+1))))
	}
	p := mustList(ctx, t, s, notify.Query{TenantID: "acme", UserID: "u1", Limit: 2})
	if p.NextBefore != 30 {
		t.Fatalf("page 1 cursor = %d, want 30", p.NextBefore)
	}
	p = mustList(ctx, t, s, notify.Query{TenantID: "acme", UserID: "u1", Limit: 2, Before: p.NextBefore})
	if got := createdAts(p.Items); !slices.Equal(got, []int64{20, 10}) || p.NextBefore != 0 {
		t.Fatalf("last full page = %v next=%d, want [20 10] next=0", got, p.NextBefore)
	}
	p = mustList(ctx, t, s, notify.Query{TenantID: "acme", UserID: "u1", Limit: 4})
	if len(p.Items) != 4 || p.NextBefore != 0 {
		t.Fatalf("limit = rows: %d rows next=%d, want 4 next=0", len(p.Items), p.NextBefore)
	}
}

func testLimitClamp(ctx context.Context, t *testing.T, s notify.Store) {
	for i := range 105 {
		mustCreate(ctx, t, s, row("acme", "u1", fmt.Sprint("n", i), int64(i+1)))
	}
	for _, c := range []struct{ limit, want int }{{0, 20}, {-3, 20}, {1, 1}, {100, 100}, {1000, 100}} {
		p := mustList(ctx, t, s, notify.Query{TenantID: "acme", UserID: "u1", Limit: c.limit})
		if len(p.Items) != c.want || p.NextBefore != p.Items[c.want-1].CreatedAtMs {
			t.Errorf("limit %d: %d rows next=%d, want %d rows and a cursor", c.limit, len(p.Items), p.NextBefore, c.want)
		}
	}
}

func testUnreadOnlyCursor(ctx context.Context, t *testing.T, s notify.Store) {
	// 10 rows at 10..100; the even ones are read.
	for i := 1; i <= 10; i++ {
		id := mustCreate(ctx, t, s, row("acme", "u1", fmt.Sprint("n", i), int64(10*i)))
		if i%2 == 0 {
			mustUpdate(ctx, t, s, "acme", "u1", id, notify.StatusRead, 1)
		}
	}
	q := notify.Query{TenantID: "acme", UserID: "u1", Limit: 2, UnreadOnly: true}
	var got []int64
	for range 10 {
		p := mustList(ctx, t, s, q)
		got = append(got, createdAts(p.Items)...)
		if p.Unread != 5 {
			t.Errorf("unread = %d, want 5", p.Unread)
		}
		if p.NextBefore == 0 {
			break
		}
		q.Before = p.NextBefore
	}
	if !slices.Equal(got, []int64{90, 70, 50, 30, 10}) {
		t.Fatalf("unread pages = %v, want [90 70 50 30 10]", got)
	}
}

func testDeviceCreatedDefault(ctx context.Context, t *testing.T, s notify.Store) {
	d := mustUpsert(ctx, t, s, notify.Device{TenantID: "acme", UserID: "u1", DeviceType: notify.DeviceAndroid, Token: "t", LastActiveMs: 4242})
	if d.CreatedAtMs != 4242 {
		t.Fatalf("created_at = %d, want last_active 4242 when not given", d.CreatedAtMs)
	}
	d = mustUpsert(ctx, t, s, notify.Device{TenantID: "acme", UserID: "u1", DeviceType: notify.DeviceAndroid, Token: "t2", LastActiveMs: 5000})
	if d.CreatedAtMs != 4242 {
		t.Fatalf("created_at = %d after a second upsert, want 4242", d.CreatedAtMs)
	}
}

func testPing(ctx context.Context, t *testing.T, s notify.Store) {
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
}

// ---- Delivery log ----

func testDeliveriesOrder(ctx context.Context, t *testing.T, s notify.Store) {
	id := mustCreate(ctx, t, s, row("acme", "u1", "n1", 1))
	in := []notify.Delivery{
		{Channel: notify.ChannelSMS, Provider: "twilio", Destination: "+44*****123", Attempt: 1, Status: "failed", Error: "timeout", AtMs: 300},
		{Channel: notify.ChannelInApp, Provider: "inapp", Destination: "u1", Attempt: 1, Status: "delivered", AtMs: 100},
		{Channel: notify.ChannelSMS, Provider: "twilio", Destination: "+44*****123", Attempt: 2, Status: "delivered", ReceiptID: "SM123", AtMs: 300},
		{Channel: notify.ChannelMobilePush, Provider: "fcm", Destination: "tok…", Attempt: 1, Status: "gone", AtMs: 200},
		{Channel: notify.ChannelEmail, Provider: "smtp", Destination: "a***@example.com", Attempt: 1, Status: "pending", AtMs: math.MaxInt64},
	}
	for i := range in {
		in[i].NotificationID, in[i].TenantID, in[i].UserID = id, "acme", "u1"
		if err := s.RecordDelivery(ctx, in[i]); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	got, err := s.ListDeliveries(ctx, "acme", "u1", id)
	if err != nil {
		t.Fatal(err)
	}
	want := []notify.Delivery{in[1], in[3], in[0], in[2], in[4]} // by AtMs, ties in recording order
	if !slices.Equal(got, want) {
		t.Fatalf("deliveries:\n got  %+v\n want %+v", got, want)
	}
}

func testDeliveriesScoped(ctx context.Context, t *testing.T, s notify.Store) {
	id := mustCreate(ctx, t, s, row("acme", "u1", "n1", 1))
	other := mustCreate(ctx, t, s, row("acme", "u1", "n2", 2))
	rec := func(tenant, user, nid, provider string) {
		t.Helper()
		if err := s.RecordDelivery(ctx, notify.Delivery{NotificationID: nid, TenantID: tenant, UserID: user,
			Channel: notify.ChannelEmail, Provider: provider, Status: "delivered", AtMs: 5}); err != nil {
			t.Fatal(err)
		}
	}
	rec("acme", "u1", id, "mine")
	rec("acme", "u1", other, "other-row")
	rec("acme", "u2", id, "other-user")
	rec("beta", "u1", id, "other-tenant")
	got, err := s.ListDeliveries(ctx, "acme", "u1", id)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Provider != "mine" {
		t.Fatalf("deliveries = %+v, want only the row's own", got)
	}
}

func testDeliveriesEmpty(ctx context.Context, t *testing.T, s notify.Store) {
	id := mustCreate(ctx, t, s, row("acme", "u1", "n1", 1))
	if err := s.RecordDelivery(ctx, notify.Delivery{NotificationID: id, TenantID: "acme", UserID: "u1", Status: "pending", AtMs: 1}); err != nil {
		t.Fatal(err)
	}
	for _, nid := range []string{uuid.NewString(), "not-a-uuid"} {
		got, err := s.ListDeliveries(ctx, "acme", "u1", nid)
		if err != nil || len(got) != 0 {
			t.Fatalf("deliveries of %q = %+v, %v; want none, no error", nid, got, err)
		}
	}
}

func testParallelDeliveries(ctx context.Context, t *testing.T, s notify.Store) {
	id := mustCreate(ctx, t, s, row("acme", "u1", "n1", 1))
	parallel(16, func(i int) {
		if err := s.RecordDelivery(ctx, notify.Delivery{NotificationID: id, TenantID: "acme", UserID: "u1",
			Channel: notify.ChannelSMS, Attempt: i + 1, Status: "failed", AtMs: int64(i)}); err != nil {
			t.Errorf("record %d: %v", i, err)
		}
	})
	got, err := s.ListDeliveries(ctx, "acme", "u1", id)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 16 {
		t.Fatalf("deliveries = %d, want 16", len(got))
	}
	for i, d := range got {
		if d.AtMs != int64(i) || d.Attempt != i+1 {
			t.Errorf("delivery %d = %+v", i, d)
		}
	}
}

// X12: a gone token is deleted only while the device still holds it, only
// for that user and type; deleting a missing device is not an error.
func testDeleteDevice(ctx context.Context, t *testing.T, s notify.Store) {
	for _, d := range []notify.Device{
		{TenantID: "acme", UserID: "u1", DeviceType: notify.DeviceAndroid, Token: "old", LastActiveMs: 1},
		{TenantID: "acme", UserID: "u1", DeviceType: notify.DeviceIOS, Token: "old", LastActiveMs: 1},
		{TenantID: "acme", UserID: "u2", DeviceType: notify.DeviceAndroid, Token: "old", LastActiveMs: 1},
		{TenantID: "beta", UserID: "u1", DeviceType: notify.DeviceAndroid, Token: "old", LastActiveMs: 1},
	} {
		if _, err := s.UpsertDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteDevice(ctx, "acme", "u1", notify.DeviceAndroid, "stale"); err != nil {
		t.Fatal(err)
	}
	if ds, _ := s.ListDevices(ctx, "acme", "u1"); len(ds) != 2 {
		t.Fatalf("a delete with another token removed a device: %+v", ds)
	}
	if err := s.DeleteDevice(ctx, "acme", "u1", notify.DeviceAndroid, "old"); err != nil {
		t.Fatal(err)
	}
	ds, err := s.ListDevices(ctx, "acme", "u1")
	if err != nil || len(ds) != 1 || ds[0].DeviceType != notify.DeviceIOS {
		t.Fatalf("after delete: %+v %v", ds, err)
	}
	for _, who := range [][2]string{{"acme", "u2"}, {"beta", "u1"}} {
		if ds, _ := s.ListDevices(ctx, who[0], who[1]); len(ds) != 1 {
			t.Fatalf("%v lost its device: %+v", who, ds)
		}
	}
	if err := s.DeleteDevice(ctx, "nobody", "none", notify.DeviceIOS, "x"); err != nil {
		t.Fatalf("deleting a missing device: %v", err)
	}
}
