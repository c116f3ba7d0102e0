package notifytest_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/quikapp/quikapp/internal/notify"
	"github.com/quikapp/quikapp/internal/notify/memstore"
	"github.com/quikapp/quikapp/internal/notify/notifytest"
)

// Every case of the suite can fail: for each subtest there is a broken
// store (a memstore with one fault injected) that the subtest rejects. The
// suite runs against each mutant in a child process, because a failing
// subtest cannot be caught in-process.

const mutantEnv = "NOTIFYTEST_MUTANT"

// mutants maps each subtest to the fault it must catch.
var mutants = map[string]string{
	"R01_CreateAndGet":                             "create reports created=false",
	"R02_GetUnknown":                               "get of an unknown id succeeds",
	"R03_IdempotentCreate":                         "a duplicate create returns a new id",
	"R04_UpdateStatus":                             "update stamps 0",
	"R05_Pagination":                               "no cursor",
	"R06_UnreadOnly":                               "unread_only ignored",
	"R07_DeviceUpsert":                             "upsert returns a new id",
	"R08_TenantIsolation":                          "get ignores the owner",
	"R09_PaginateAll":                              "cursor one past the last row",
	"R10_CursorStrictlyLess":                       "cursor inclusive",
	"R11_FreshTenantQuery":                         "query falls back to another tenant",
	"R12_FreshTenantGet":                           "get ignores the owner",
	"R13_FreshTenantDevices":                       "devices fall back to another tenant",
	"R14_RoundTripStrings":                         "title trimmed",
	"R15_RoundTripTimestamps":                      "timestamps through float64",
	"R16_LargeBodies":                              "body truncated",
	"R17_ParallelDistinctCreates":                  "concurrent creates lost",
	"R18_ParallelSameKeyCreates":                   "concurrent creates not idempotent",
	"R19_ParallelDeviceUpserts":                    "concurrent upserts duplicate",
	"R20_ParallelStatusUpdates":                    "concurrent updates fail",
	"R21_ReadYourWrites":                           "replication lag",
	"R22_LongNotificationID":                       "notification_id truncated",
	"R23_NoJoinedKeys":                             "joined keys",
	"R24_CaseSensitiveDeviceTypes":                 "device type lower-cased",
	"A1_ListDevicesOrderedByType":                  "devices reversed",
	"A2_UpdateStatusStampsOnlyMatching":            "acked stamps delivered too",
	"A3_DeviceUpsertChangesOnlyTokenAndLastActive": "upsert reports the caller's created_at",
	"X1_MalformedIDsNotFound":                      "malformed id is an internal error",
	"X2_IDCaseInsensitive":                         "ids case-sensitive",
	"X3_UnknownStatusRejected":                     "unknown status stored as pending",
	"X4_ReturnedValuesAreCopies":                   "pages shared",
	"X5_UnreadCountsEveryNonReadStatus":            "unread_only keeps pending only",
	"X6_TiesOrderedByIDDesc":                       "ties ascending",
	"X7_PageExactFitHasNoCursor":                   "cursor on a full last page",
	"X8_LimitClamped":                              "limit 0 means 10",
	"X9_UnreadOnlyWithCursor":                      "unread_only ignores the cursor",
	"X10_DeviceCreatedAtDefaultsToLastActive":      "created_at left 0",
	"X11_Ping":                                     "ping fails",
	"X12_DeleteDeviceOnlyWithSameToken":            "delete ignores the token",
	"D1_DeliveriesOldestFirst":                     "deliveries newest first",
	"D2_DeliveriesScoped":                          "deliveries of every user",
	"D3_DeliveriesEmpty":                           "empty log is an error",
	"D4_ParallelDeliveries":                        "concurrent deliveries lost",
}

// TestMutantChild runs the suite on a store with one rule broken (the
// rule named by mutantEnv, set by TestSuiteCatchesMutants in a child
// process). Run directly, no rule is broken: the suite must pass on the
// true store, the baseline every mutant is measured against.
func TestMutantChild(t *testing.T) {
	rule := os.Getenv(mutantEnv)
	if rule == "" {
		notifytest.Run(t, func(*testing.T) notify.Store { return memstore.New() })
		return
	}
	notifytest.Run(t, func(*testing.T) notify.Store {
		return &mutant{Store: memstore.New(), rule: rule, owners: map[string][2]string{},
			lastTenant: map[string]string{}, devTenant: map[string]string{}, created: map[string]time.Time{},
			pages: map[notify.Query][]notify.Notification{}, logs: map[string][]notify.Delivery{}}
	})
}

func TestSuiteCatchesMutants(t *testing.T) {
	names := notifytest.Names()
	for _, name := range names {
		if _, ok := mutants[name]; !ok {
			t.Errorf("subtest %s has no mutant proving it can fail", name)
		}
	}
	if len(mutants) != len(names) {
		t.Errorf("%d mutants for %d subtests", len(mutants), len(names))
	}
	t.Run("unmutated", func(t *testing.T) {
		t.Parallel()
		out, err := child(t, "none", ".*")
		if err != nil {
			t.Fatalf("the suite fails on a correct store: %v\n%s", err, out)
		}
	})
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out, err := child(t, name, "^"+regexp.QuoteMeta(name)+"$")
			if err == nil || !strings.Contains(out, "--- FAIL: TestMutantChild/"+name) {
				t.Fatalf("mutant %q (%s) survived:\n%s", name, mutants[name], out)
			}
		})
	}
}

func child(t *testing.T, rule, subtests string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestMutantChild$/"+subtests, "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), mutantEnv+"="+rule)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// mutant is a memstore with the fault for one rule injected.
type mutant struct {
	notify.Store
	rule     string
	inflight atomic.Int32

	mu         sync.Mutex
	owners     map[string][2]string // id → tenant, user
	lastTenant map[string]string    // user → tenant of the last create
	devTenant  map[string]string    // user → tenant of the last upsert
	created    map[string]time.Time // id → create time
	pages      map[notify.Query][]notify.Notification
	logs       map[string][]notify.Delivery // notification id → every delivery
}

// overlap reports whether another call with the same fault runs at once;
// it widens the window so 16 goroutines released together do overlap.
func (m *mutant) overlap() (done func(), overlapped bool) {
	m.inflight.Add(1)
	time.Sleep(20 * time.Millisecond)
	return func() { m.inflight.Add(-1) }, m.inflight.Load() > 1
}

func (m *mutant) CreateNotification(ctx context.Context, n notify.Notification) (string, bool, error) {
	switch m.rule {
	case "R14_RoundTripStrings":
		n.Title = strings.TrimSpace(n.Title)
	case "R15_RoundTripTimestamps":
		n.CreatedAtMs = int64(float64(n.CreatedAtMs))
	case "R16_LargeBodies":
		n.Body = n.Body[:min(len(n.Body), 100_000)]
	case "R22_LongNotificationID":
		n.NotificationID = n.NotificationID[:min(len(n.NotificationID), 255)]
	case "R23_NoJoinedKeys":
		n.UserID, n.NotificationID = n.TenantID+"|"+n.UserID+"|"+n.NotificationID, ""
		n.TenantID = ""
	case "R17_ParallelDistinctCreates":
		done, overlapped := m.overlap()
		defer done()
		if overlapped {
			return uuid.NewString(), true, nil
		}
	case "R18_ParallelSameKeyCreates":
		done, overlapped := m.overlap()
		defer done()
		if overlapped {
			n.NotificationID += uuid.NewString()
		}
	}
	id, created, err := m.Store.CreateNotification(ctx, n)
	m.mu.Lock()
	if created {
		m.owners[id] = [2]string{n.TenantID, n.UserID}
		m.created[id] = time.Now()
	}
	m.lastTenant[n.UserID] = n.TenantID
	m.mu.Unlock()
	switch m.rule {
	case "R01_CreateAndGet":
		created = false
	case "R03_IdempotentCreate":
		if !created && err == nil {
			id = uuid.NewString()
		}
	}
	return id, created, err
}

func (m *mutant) GetNotification(ctx context.Context, tenantID, userID, id string) (notify.Notification, error) {
	switch m.rule {
	case "R08_TenantIsolation", "R12_FreshTenantGet":
		m.mu.Lock()
		owner, ok := m.owners[id]
		m.mu.Unlock()
		if ok {
			tenantID, userID = owner[0], owner[1]
		}
	case "X1_MalformedIDsNotFound":
		if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
			return notify.Notification{}, fmt.Errorf("internal: bad uuid %q", id)
		}
	case "X2_IDCaseInsensitive":
		if id != strings.ToLower(id) {
			return notify.Notification{}, notify.ErrNotFound
		}
	}
	n, err := m.Store.GetNotification(ctx, tenantID, userID, id)
	if m.rule == "R02_GetUnknown" && errors.Is(err, notify.ErrNotFound) {
		return notify.Notification{}, nil
	}
	return n, err
}

func (m *mutant) UpdateStatus(ctx context.Context, tenantID, userID, id, status string, atMs int64) error {
	switch m.rule {
	case "R04_UpdateStatus":
		atMs = 0
	case "R20_ParallelStatusUpdates":
		done, overlapped := m.overlap()
		defer done()
		if overlapped {
			return errors.New("could not serialize access")
		}
	case "A2_UpdateStatusStampsOnlyMatching":
		if status == notify.StatusAcked {
			if err := m.Store.UpdateStatus(ctx, tenantID, userID, id, notify.StatusDelivered, atMs); err != nil {
				return err
			}
		}
	case "X2_IDCaseInsensitive":
		if id != strings.ToLower(id) {
			return notify.ErrNotFound
		}
	case "X3_UnknownStatusRejected":
		switch status {
		case notify.StatusPending, notify.StatusDelivered, notify.StatusAcked, notify.StatusRead, notify.StatusFailed:
		default:
			status = notify.StatusPending
		}
	}
	return m.Store.UpdateStatus(ctx, tenantID, userID, id, status, atMs)
}

func (m *mutant) ListNotifications(ctx context.Context, q notify.Query) (notify.Page, error) {
	orig := q
	switch m.rule {
	case "R06_UnreadOnly":
		q.UnreadOnly = false
	case "R10_CursorStrictlyLess":
		if q.Before != 0 {
			q.Before++
		}
	case "X8_LimitClamped":
		if q.Limit <= 0 {
			q.Limit = 10
		}
	case "X9_UnreadOnlyWithCursor":
		if q.UnreadOnly {
			q.Before = 0
		}
	}
	p, err := m.Store.ListNotifications(ctx, q)
	if err != nil {
		return p, err
	}
	switch m.rule {
	case "R05_Pagination":
		p.NextBefore = 0
	case "R09_PaginateAll":
		if p.NextBefore != 0 {
			p.NextBefore++
		}
	case "R11_FreshTenantQuery":
		if len(p.Items) == 0 {
			m.mu.Lock()
			other := m.lastTenant[q.UserID]
			m.mu.Unlock()
			q.TenantID = other
			return m.Store.ListNotifications(ctx, q)
		}
	case "R21_ReadYourWrites":
		m.mu.Lock()
		p.Items = slices.DeleteFunc(p.Items, func(n notify.Notification) bool { return time.Since(m.created[n.ID]) < time.Second })
		m.mu.Unlock()
	case "X4_ReturnedValuesAreCopies":
		m.mu.Lock()
		if cached, ok := m.pages[orig]; ok {
			p.Items = cached
		} else {
			m.pages[orig] = p.Items
		}
		m.mu.Unlock()
	case "X5_UnreadCountsEveryNonReadStatus":
		if q.UnreadOnly {
			p.Items = slices.DeleteFunc(p.Items, func(n notify.Notification) bool { return n.Status != notify.StatusPending })
		}
	case "X6_TiesOrderedByIDDesc":
		slices.SortFunc(p.Items, func(a, b notify.Notification) int {
			if c := cmp.Compare(b.CreatedAtMs, a.CreatedAtMs); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
	case "X7_PageExactFitHasNoCursor":
		if n := len(p.Items); n > 0 && n == q.Limit {
			p.NextBefore = p.Items[n-1].CreatedAtMs
		}
	}
	return p, nil
}

func (m *mutant) UpsertDevice(ctx context.Context, d notify.Device) (notify.Device, error) {
	switch m.rule {
	case "R19_ParallelDeviceUpserts":
		done, overlapped := m.overlap()
		defer done()
		if overlapped {
			d.DeviceType += "#" + uuid.NewString()
		}
	case "R24_CaseSensitiveDeviceTypes":
		d.DeviceType = strings.ToLower(d.DeviceType)
	}
	out, err := m.Store.UpsertDevice(ctx, d)
	m.mu.Lock()
	m.devTenant[d.UserID] = d.TenantID
	m.mu.Unlock()
	switch m.rule {
	case "R07_DeviceUpsert":
		out.ID = uuid.NewString()
	case "A3_DeviceUpsertChangesOnlyTokenAndLastActive":
		if d.CreatedAtMs != 0 {
			out.CreatedAtMs = d.CreatedAtMs
		}
	case "X10_DeviceCreatedAtDefaultsToLastActive":
		if d.CreatedAtMs == 0 {
			out.CreatedAtMs = 0
		}
	}
	return out, err
}

func (m *mutant) ListDevices(ctx context.Context, tenantID, userID string) ([]notify.Device, error) {
	ds, err := m.Store.ListDevices(ctx, tenantID, userID)
	switch m.rule {
	case "R13_FreshTenantDevices":
		if len(ds) == 0 {
			m.mu.Lock()
			other := m.devTenant[userID]
			m.mu.Unlock()
			return m.Store.ListDevices(ctx, other, userID)
		}
	case "A1_ListDevicesOrderedByType":
		slices.Reverse(ds)
	}
	return ds, err
}

func (m *mutant) DeleteDevice(ctx context.Context, tenantID, userID, deviceType, token string) error {
	if m.rule == "X12_DeleteDeviceOnlyWithSameToken" {
		ds, err := m.Store.ListDevices(ctx, tenantID, userID)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if d.DeviceType == deviceType {
				token = d.Token
			}
		}
	}
	return m.Store.DeleteDevice(ctx, tenantID, userID, deviceType, token)
}

func (m *mutant) RecordDelivery(ctx context.Context, d notify.Delivery) error {
	if m.rule == "D4_ParallelDeliveries" {
		done, overlapped := m.overlap()
		defer done()
		if overlapped {
			return nil
		}
	}
	m.mu.Lock()
	m.logs[d.NotificationID] = append(m.logs[d.NotificationID], d)
	m.mu.Unlock()
	return m.Store.RecordDelivery(ctx, d)
}

func (m *mutant) ListDeliveries(ctx context.Context, tenantID, userID, notificationID string) ([]notify.Delivery, error) {
	ds, err := m.Store.ListDeliveries(ctx, tenantID, userID, notificationID)
	switch m.rule {
	case "D1_DeliveriesOldestFirst":
		slices.Reverse(ds)
	case "D2_DeliveriesScoped":
		m.mu.Lock()
		ds = slices.Clone(m.logs[notificationID])
		m.mu.Unlock()
	case "D3_DeliveriesEmpty":
		if len(ds) == 0 {
			return nil, errors.New("no such notification")
		}
	}
	return ds, err
}

func (m *mutant) Ping(ctx context.Context) error {
	if m.rule == "X11_Ping" {
		return errors.New("connection refused")
	}
	return m.Store.Ping(ctx)
}
