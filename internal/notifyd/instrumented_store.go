package notifyd

import (
	"context"
	"time"

	"github.com/quikapp/quikapp/internal/notify"
)

// instrumentedStore times and counts every store call for
// notify_store_op_total and notify_store_op_duration_seconds.
type instrumentedStore struct {
	next notify.Store
	m    *metrics
}

var _ notify.Store = instrumentedStore{}

func (s instrumentedStore) CreateNotification(ctx context.Context, n notify.Notification) (string, bool, error) {
	start := time.Now()
	id, created, err := s.next.CreateNotification(ctx, n)
	s.m.storeOp("create_notification", start, err)
	return id, created, err
}

func (s instrumentedStore) GetNotification(ctx context.Context, tenantID, userID, id string) (notify.Notification, error) {
	start := time.Now()
	n, err := s.next.GetNotification(ctx, tenantID, userID, id)
	s.m.storeOp("get_notification", start, err)
	return n, err
}

func (s instrumentedStore) UpdateStatus(ctx context.Context, tenantID, userID, id, status string, atMs int64) error {
	start := time.Now()
	err := s.next.UpdateStatus(ctx, tenantID, userID, id, status, atMs)
	s.m.storeOp("update_status", start, err)
	return err
}

func (s instrumentedStore) ListNotifications(ctx context.Context, q notify.Query) (notify.Page, error) {
	start := time.Now()
	p, err := s.next.ListNotifications(ctx, q)
	s.m.storeOp("list_notifications", start, err)
	return p, err
}

func (s instrumentedStore) UpsertDevice(ctx context.Context, d notify.Device) (notify.Device, error) {
	start := time.Now()
	out, err := s.next.UpsertDevice(ctx, d)
	s.m.storeOp("upsert_device", start, err)
	return out, err
}

func (s instrumentedStore) ListDevices(ctx context.Context, tenantID, userID string) ([]notify.Device, error) {
	start := time.Now()
	out, err := s.next.ListDevices(ctx, tenantID, userID)
	s.m.storeOp("list_devices", start, err)
	return out, err
}

func (s instrumentedStore) DeleteDevice(ctx context.Context, tenantID, userID, deviceType, token string) error {
	start := time.Now()
	err := s.next.DeleteDevice(ctx, tenantID, userID, deviceType, token)
	s.m.storeOp("delete_device", start, err)
	return err
}

func (s instrumentedStore) RecordDelivery(ctx context.Context, d notify.Delivery) error {
	start := time.Now()
	err := s.next.RecordDelivery(ctx, d)
	s.m.storeOp("record_delivery", start, err)
	return err
}

func (s instrumentedStore) ListDeliveries(ctx context.Context, tenantID, userID, notificationID string) ([]notify.Delivery, error) {
	start := time.Now()
	out, err := s.next.ListDeliveries(ctx, tenantID, userID, notificationID)
	s.m.storeOp("list_deliveries", start, err)
	return out, err
}

func (s instrumentedStore) Ping(ctx context.Context) error { return s.next.Ping(ctx) }

func (s instrumentedStore) Close() error { return s.next.Close() }
