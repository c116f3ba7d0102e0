// Package notify is the notification engine shared by the standalone
// notifyd daemon and the QuikApp platform: it stores one inbox row per
// (tenant, user, notification), fans a notification out to delivery
// channels (in-app live streams, email, web push, mobile push, SMS,
// WhatsApp) and records each channel's outcome.
//
// The wire contract it must keep is ../shared/design/notify-contract.md.
package notify

import (
	"context"
	"errors"
)

// Status names as stored and as the contract spells them.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusAcked     = "acked"
	StatusRead      = "read"
	StatusFailed    = "failed"
)

// Channel names as stored; they are also the keys of ChannelAddresses.
const (
	ChannelInApp      = "in_app"
	ChannelEmail      = "email"
	ChannelWebPush    = "web_push"
	ChannelMobilePush = "mobile_push"
	ChannelSMS        = "sms"
	ChannelWhatsApp   = "whatsapp"
)

// Device types as stored.
const (
	DeviceBrowser = "browser"
	DeviceAndroid = "android"
	DeviceIOS     = "ios"
)

// ErrNotFound is returned for unknown ids, including ids that exist for
// another user or tenant and ids that are not well-formed UUIDs.
var ErrNotFound = errors.New("notify: not found")

// Notification is one inbox row: one per (tenant, user, notification id),
// whatever the number of channels it went out on.
type Notification struct {
	ID             string // UUID assigned on create
	TenantID       string
	UserID         string
	NotificationID string // the producer's id; idempotency key with tenant and user
	SubjectRef     string
	SubjectType    string
	Title          string
	Body           string
	Channel        string // the first channel it was created for
	Status         string
	CreatedAtMs    int64
	DeliveredAtMs  int64
	AckAtMs        int64
	ReadAtMs       int64
}

// Device is a push destination registered by a client: one per
// (tenant, user, device type).
type Device struct {
	ID           string
	TenantID     string
	UserID       string
	DeviceType   string // browser, android, ios (case-sensitive key)
	Token        string // PushSubscription JSON for browsers, FCM/APNs token otherwise
	CreatedAtMs  int64
	LastActiveMs int64
}

// Query selects a page of one user's inbox.
type Query struct {
	TenantID   string
	UserID     string
	Before     int64 // 0: newest page; else rows with CreatedAtMs strictly less
	Limit      int   // already clamped by the caller to 1..100
	UnreadOnly bool  // status <> read
}

// Page is one page of an inbox.
type Page struct {
	Items []Notification // CreatedAtMs desc, then ID desc
	// NextBefore is the CreatedAtMs of the last item when more rows exist
	// past this page, else 0.
	NextBefore int64
	// Unread counts every row of the user whose status is not read,
	// regardless of page and filter.
	Unread int
}

// Delivery is one attempt to deliver a notification on one channel: the
// delivery log the upstream service lacks.
type Delivery struct {
	NotificationID string // the row's ID (UUID)
	TenantID       string
	UserID         string
	Channel        string
	Provider       string
	Destination    string // redacted by the caller (e.g. masked phone number)
	Attempt        int
	Status         string // delivered, failed, pending, gone (token no longer valid)
	ReceiptID      string // provider's message id when it gives one
	Error          string // short, secret-free
	AtMs           int64
}

// Store keeps inbox rows, devices and the delivery log. Every
// implementation passes the conformance suite in package notifytest.
type Store interface {
	// CreateNotification inserts n (ID is assigned; Status must be set)
	// unless a row with the same (tenant, user, notification id) exists; it
	// returns the row's id and whether it was created. An existing row is
	// left unchanged. Safe under concurrent calls with one key.
	CreateNotification(ctx context.Context, n Notification) (id string, created bool, err error)
	// GetNotification returns the caller's row or ErrNotFound.
	GetNotification(ctx context.Context, tenantID, userID, id string) (Notification, error)
	// UpdateStatus sets status unconditionally and stamps the matching
	// timestamp (delivered → DeliveredAtMs, acked → AckAtMs, read →
	// ReadAtMs; pending and failed stamp nothing). ErrNotFound if absent.
	UpdateStatus(ctx context.Context, tenantID, userID, id, status string, atMs int64) error
	// ListNotifications returns one page of the user's inbox.
	ListNotifications(ctx context.Context, q Query) (Page, error)
	// UpsertDevice inserts or, for an existing (tenant, user, device type),
	// replaces only Token and LastActiveMs, keeping ID and CreatedAtMs. It
	// returns the stored device.
	UpsertDevice(ctx context.Context, d Device) (Device, error)
	// ListDevices returns the user's devices ordered by device type.
	ListDevices(ctx context.Context, tenantID, userID string) ([]Device, error)
	// DeleteDevice removes the user's device of deviceType if it still
	// holds token (a provider said the token is gone; a token registered
	// since then is kept). Deleting a missing device is not an error.
	DeleteDevice(ctx context.Context, tenantID, userID, deviceType, token string) error
	// RecordDelivery appends to the delivery log.
	RecordDelivery(ctx context.Context, d Delivery) error
	// ListDeliveries returns a row's delivery log, oldest first.
	ListDeliveries(ctx context.Context, tenantID, userID, notificationID string) ([]Delivery, error)
	// Ping checks the backing database (nil for memory).
	Ping(ctx context.Context) error
	// Close releases the store; it is called last at shutdown.
	Close() error
}

// Identity is an authenticated caller of the client API: the tenant always
// comes from the credential, never from a request body.
type Identity struct {
	UserID   string
	TenantID string
	Email    string // optional
}
