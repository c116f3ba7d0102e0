package auth

import (
	"log/slog"
	"net/http"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/gateway"
	"github.com/quikapp/quikapp/internal/httpapi"
)

// Routes serves accounts, sessions and profiles.
type Routes struct {
	Svc    *Service
	Access *access.Checker
	Log    *slog.Logger
}

// Mount registers the routes.
func (h *Routes) Mount(rt *gateway.Router) {
	pub := func(pattern, summary string, fn httpapi.HandlerFunc) {
		rt.Public(pattern, httpapi.Handle(h.Log, fn), gateway.LimitIP(), gateway.Summary(summary))
	}
	authed := func(pattern, summary string, fn httpapi.HandlerFunc) {
		rt.Authed(pattern, httpapi.Handle(h.Log, fn), gateway.Summary(summary))
	}
	pub("POST /api/v1/auth/register", "Create an account", h.register)
	pub("POST /api/v1/auth/login", "Sign in with email and password", h.login)
	pub("POST /api/v1/auth/refresh", "Spend a refresh token for new tokens", h.refresh)
	pub("POST /api/v1/auth/password-reset/request", "Email a password reset link", h.resetRequest)
	pub("POST /api/v1/auth/password-reset/confirm", "Set a new password with a reset link's token", h.resetConfirm)
	pub("POST /api/v1/auth/verify-email/confirm", "Confirm an email address with the emailed token", h.verifyConfirm)
	pub("POST /api/v1/auth/otp/request", "Send a one-time sign-in code by email or SMS", h.otpRequest)
	pub("POST /api/v1/auth/otp/verify", "Sign in with a one-time code", h.otpVerify)
	pub("POST /api/v1/auth/2fa/verify", "Finish a two-factor sign-in with the interim token and a code", h.verify2FA)
	authed("POST /api/v1/auth/2fa/setup", "Start two-factor setup: a secret for an authenticator app", h.setup2FA)
	authed("POST /api/v1/auth/2fa/enable", "Confirm two-factor setup with a code; returns backup codes", h.enable2FA)
	authed("POST /api/v1/auth/2fa/disable", "Turn two-factor sign-in off", h.disable2FA)
	authed("POST /api/v1/auth/verify-email/request", "Send a new verification link", h.verifyRequest)
	authed("POST /api/v1/auth/logout", "End the current session", h.logout)
	authed("GET /api/v1/auth/sessions", "List open sessions", h.sessions)
	authed("DELETE /api/v1/auth/sessions/{id}", "End one session", h.revokeSession)
	authed("POST /api/v1/auth/password", "Change the password", h.changePassword)
	authed("GET /api/v1/users/me", "The signed-in user", h.me)
	authed("GET /api/v1/users/{id}", "A user's profile", h.getUser)
	authed("PATCH /api/v1/users/{id}", "Change a profile", h.patchUser)
}

func (h *Routes) register(r *http.Request) (int, any, error) {
	var in struct {
		Email       string `json:"email"`
		Password    string `json:"password"`
		DisplayName string `json:"displayName"`
	}
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	u, err := h.Svc.Register(r.Context(), in.Email, in.Password, in.DisplayName)
	return http.StatusCreated, u, err
}

func (h *Routes) login(r *http.Request) (int, any, error) {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	t, err := h.Svc.Login(r.Context(), in.Email, in.Password)
	return http.StatusOK, t, err
}

func (h *Routes) refresh(r *http.Request) (int, any, error) {
	var in struct {
		RefreshToken string `json:"refreshToken"`
	}
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	t, err := h.Svc.Refresh(r.Context(), in.RefreshToken)
	return http.StatusOK, t, err
}

func (h *Routes) resetRequest(r *http.Request) (int, any, error) {
	var in struct {
		Email string `json:"email"`
	}
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	if err := h.Svc.RequestPasswordReset(r.Context(), in.Email); err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, map[string]string{"status": "if an account has this address, a reset link is on its way"}, nil
}

func (h *Routes) resetConfirm(r *http.Request) (int, any, error) {
	var in struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, h.Svc.ResetPassword(r.Context(), in.Token, in.Password)
}

func (h *Routes) verifyConfirm(r *http.Request) (int, any, error) {
	var in struct {
		Token string `json:"token"`
	}
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, h.Svc.ConfirmEmail(r.Context(), in.Token)
}

func (h *Routes) verifyRequest(r *http.Request) (int, any, error) {
	a, _ := access.ActorFrom(r.Context())
	if err := h.Svc.RequestVerification(r.Context(), a.UserID); err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, map[string]string{"status": "a verification link is on its way"}, nil
}

func (h *Routes) logout(r *http.Request) (int, any, error) {
	a, _ := access.ActorFrom(r.Context())
	return http.StatusNoContent, nil, h.Svc.RevokeSession(r.Context(), a.UserID, a.SessionID)
}

func (h *Routes) sessions(r *http.Request) (int, any, error) {
	a, _ := access.ActorFrom(r.Context())
	list, err := h.Svc.Sessions(r.Context(), a.UserID, a.SessionID)
	return http.StatusOK, httpapi.List[Session]{Items: list}, err
}

func (h *Routes) revokeSession(r *http.Request) (int, any, error) {
	a, _ := access.ActorFrom(r.Context())
	return http.StatusNoContent, nil, h.Svc.RevokeSession(r.Context(), a.UserID, r.PathValue("id"))
}

func (h *Routes) changePassword(r *http.Request) (int, any, error) {
	var in struct {
		CurrentPassword string `json:"currentPassword"`
		NewPassword     string `json:"newPassword"`
	}
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	a, _ := access.ActorFrom(r.Context())
	return http.StatusNoContent, nil, h.Svc.ChangePassword(r.Context(), a.UserID, a.SessionID, in.CurrentPassword, in.NewPassword)
}

func (h *Routes) me(r *http.Request) (int, any, error) {
	a, _ := access.ActorFrom(r.Context())
	u, err := h.Svc.Profile(r.Context(), h.Access, a, a.UserID)
	return http.StatusOK, u, err
}

func (h *Routes) getUser(r *http.Request) (int, any, error) {
	a, _ := access.ActorFrom(r.Context())
	u, err := h.Svc.Profile(r.Context(), h.Access, a, r.PathValue("id"))
	return http.StatusOK, u, err
}

func (h *Routes) patchUser(r *http.Request) (int, any, error) {
	var p ProfilePatch
	if err := httpapi.Decode(r, &p, 0); err != nil {
		return 0, nil, err
	}
	a, _ := access.ActorFrom(r.Context())
	u, err := h.Svc.UpdateProfile(r.Context(), h.Access, a, r.PathValue("id"), p)
	return http.StatusOK, u, err
}

func (h *Routes) verify2FA(r *http.Request) (int, any, error) {
	var in struct {
		InterimToken string `json:"interimToken"`
		Code         string `json:"code"`
	}
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	t, err := h.Svc.VerifyTwoFactor(r.Context(), in.InterimToken, in.Code)
	return http.StatusOK, t, err
}

func (h *Routes) setup2FA(r *http.Request) (int, any, error) {
	var in struct {
		Password string `json:"password"`
	}
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	a, _ := access.ActorFrom(r.Context())
	setup, err := h.Svc.SetupTOTP(r.Context(), a.UserID, in.Password)
	return http.StatusOK, setup, err
}

func (h *Routes) enable2FA(r *http.Request) (int, any, error) {
	var in struct {
		Code string `json:"code"`
	}
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	a, _ := access.ActorFrom(r.Context())
	codes, err := h.Svc.EnableTOTP(r.Context(), a.UserID, in.Code)
	return http.StatusOK, map[string]any{"backupCodes": codes}, err
}

func (h *Routes) disable2FA(r *http.Request) (int, any, error) {
	var in struct {
		Password string `json:"password"`
		Code     string `json:"code"`
	}
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	a, _ := access.ActorFrom(r.Context())
	return http.StatusNoContent, nil, h.Svc.DisableTOTP(r.Context(), a.UserID, in.Password, in.Code)
}

func (h *Routes) otpRequest(r *http.Request) (int, any, error) {
	var in struct {
		Email   string `json:"email"`
		Channel string `json:"channel"`
	}
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	if err := h.Svc.RequestLoginCode(r.Context(), in.Email, in.Channel); err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, map[string]string{"status": "if an account has this address, a code is on its way"}, nil
}

func (h *Routes) otpVerify(r *http.Request) (int, any, error) {
	var in struct {
		Email string `json:"email"`
		Code  string `json:"code"`
	}
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	t, err := h.Svc.LoginWithCode(r.Context(), in.Email, in.Code)
	return http.StatusOK, t, err
}
