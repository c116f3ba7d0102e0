package auth

import (
	"log/slog"
	"net/http"
	"net/url"

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
	pub := func(pattern, summary string, fn httpapi.HandlerFunc, opts ...gateway.Option) {
		rt.Public(pattern, httpapi.Handle(h.Log, fn), append(opts, gateway.LimitIP(), gateway.Summary(summary))...)
	}
	authed := func(pattern, summary string, fn httpapi.HandlerFunc, opts ...gateway.Option) {
		rt.Authed(pattern, httpapi.Handle(h.Log, fn), append(opts, gateway.Summary(summary))...)
	}
	// routes that answer Tokens can put them in cookies (cookies.go)
	tokens := func(pattern, summary string, fn httpapi.HandlerFunc, opts ...gateway.Option) {
		rt.Public(pattern, h.cookieTokens(httpapi.Handle(h.Log, fn)), append(opts, gateway.LimitIP(), gateway.Summary(summary))...)
	}
	pub("POST /api/v1/auth/register", "Create an account", h.register, gateway.Request(RegisterRequest{}), gateway.Response(201, User{}))
	tokens("POST /api/v1/auth/login", "Sign in with email and password", h.login, gateway.Request(LoginRequest{}), gateway.Response(200, Tokens{}))
	tokens("POST /api/v1/auth/refresh", "Spend a refresh token for new tokens", h.refresh, gateway.Request(RefreshRequest{}), gateway.Response(200, Tokens{}))
	pub("POST /api/v1/auth/password-reset/request", "Email a password reset link", h.resetRequest, gateway.Request(PasswordResetRequest{}), gateway.Response(202, Status{}))
	pub("POST /api/v1/auth/password-reset/confirm", "Set a new password with a reset link's token", h.resetConfirm, gateway.Request(PasswordResetConfirmRequest{}), gateway.Response(204, nil))
	pub("POST /api/v1/auth/verify-email/confirm", "Confirm an email address with the emailed token", h.verifyConfirm, gateway.Request(VerifyEmailRequest{}), gateway.Response(204, nil))
	pub("POST /api/v1/auth/otp/request", "Send a one-time sign-in code by email or SMS", h.otpRequest, gateway.Request(CodeRequest{}), gateway.Response(202, Status{}))
	tokens("POST /api/v1/auth/otp/verify", "Sign in with a one-time code", h.otpVerify, gateway.Request(CodeLoginRequest{}), gateway.Response(200, Tokens{}))
	pub("GET /api/v1/auth/oidc/providers", "External sign-in providers", h.providers, gateway.Response(200, httpapi.List[ProviderInfo]{}))
	rt.Public("GET /api/v1/auth/oidc/{provider}/start", http.HandlerFunc(h.oidcStart), gateway.LimitIP(),
		gateway.Summary("Begin sign-in at a provider (redirects); ?redirect=/path to come back to"))
	rt.Public("GET /api/v1/auth/oidc/{provider}/callback", http.HandlerFunc(h.oidcCallback), gateway.LimitIP(),
		gateway.Summary("The provider's return (redirects to the app with a loginCode)"))
	tokens("POST /api/v1/auth/oidc/exchange", "Trade a loginCode for tokens", h.oidcExchange,
		gateway.Request(LoginCodeRequest{}), gateway.Response(200, Tokens{}))
	tokens("POST /api/v1/auth/2fa/verify", "Finish a two-factor sign-in with the interim token and a code", h.verify2FA, gateway.Request(TwoFactorLoginRequest{}), gateway.Response(200, Tokens{}))
	authed("POST /api/v1/auth/2fa/setup", "Start two-factor setup: a secret for an authenticator app", h.setup2FA, gateway.Request(TwoFactorSetupRequest{}), gateway.Response(200, TOTPSetup{}))
	authed("POST /api/v1/auth/2fa/enable", "Confirm two-factor setup with a code; returns backup codes", h.enable2FA, gateway.Request(TwoFactorEnableRequest{}), gateway.Response(200, BackupCodes{}))
	authed("POST /api/v1/auth/2fa/backup-codes", "Replace the backup codes (the old ones stop working)", h.regenCodes,
		gateway.Request(TwoFactorSetupRequest{}), gateway.Response(200, BackupCodes{}))
	authed("POST /api/v1/auth/2fa/disable", "Turn two-factor sign-in off", h.disable2FA, gateway.Request(TwoFactorDisableRequest{}), gateway.Response(204, nil))
	authed("POST /api/v1/auth/verify-email/request", "Send a new verification link", h.verifyRequest, gateway.Response(202, Status{}))
	rt.Authed("POST /api/v1/auth/logout", h.clearOnSuccess(httpapi.Handle(h.Log, h.logout)), gateway.Response(204, nil), gateway.Summary("End the current session (and clear a cookie session)"))
	authed("GET /api/v1/auth/sessions", "List open sessions", h.sessions, gateway.Response(200, httpapi.List[Session]{}))
	authed("DELETE /api/v1/auth/sessions/{id}", "End one session", h.revokeSession, gateway.Response(204, nil))
	authed("POST /api/v1/auth/password", "Change the password", h.changePassword, gateway.Request(ChangePasswordRequest{}), gateway.Response(204, nil))
	h.mountMe(rt)
	authed("GET /api/v1/users/me", "The signed-in user", h.me, gateway.Response(200, User{}))
	authed("GET /api/v1/users/{id}", "A user's profile", h.getUser, gateway.Response(200, User{}))
	authed("PATCH /api/v1/users/{id}", "Change a profile", h.patchUser, gateway.Request(ProfilePatch{}), gateway.Response(200, User{}))
}

func (h *Routes) register(r *http.Request) (int, any, error) {
	var in RegisterRequest
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	u, err := h.Svc.Register(r.Context(), in.Email, in.Password, in.DisplayName)
	return http.StatusCreated, u, err
}

func (h *Routes) login(r *http.Request) (int, any, error) {
	var in LoginRequest
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	t, err := h.Svc.Login(r.Context(), in.Email, in.Password)
	return http.StatusOK, t, err
}

func (h *Routes) refresh(r *http.Request) (int, any, error) {
	var in RefreshRequest
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	t, err := h.Svc.Refresh(r.Context(), in.RefreshToken)
	return http.StatusOK, t, err
}

func (h *Routes) resetRequest(r *http.Request) (int, any, error) {
	var in PasswordResetRequest
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	if err := h.Svc.RequestPasswordReset(r.Context(), in.Email); err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, Status{Status: "if an account has this address, a reset link is on its way"}, nil
}

func (h *Routes) resetConfirm(r *http.Request) (int, any, error) {
	var in PasswordResetConfirmRequest
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, h.Svc.ResetPassword(r.Context(), in.Token, in.Password)
}

func (h *Routes) verifyConfirm(r *http.Request) (int, any, error) {
	var in VerifyEmailRequest
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
	return http.StatusAccepted, Status{Status: "a verification link is on its way"}, nil
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
	var in ChangePasswordRequest
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
	var in TwoFactorLoginRequest
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	t, err := h.Svc.VerifyTwoFactor(r.Context(), in.InterimToken, in.Code)
	return http.StatusOK, t, err
}

func (h *Routes) setup2FA(r *http.Request) (int, any, error) {
	var in TwoFactorSetupRequest
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	a, _ := access.ActorFrom(r.Context())
	setup, err := h.Svc.SetupTOTP(r.Context(), a.UserID, in.Password)
	return http.StatusOK, setup, err
}

func (h *Routes) enable2FA(r *http.Request) (int, any, error) {
	var in TwoFactorEnableRequest
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	a, _ := access.ActorFrom(r.Context())
	codes, err := h.Svc.EnableTOTP(r.Context(), a.UserID, in.Code)
	return http.StatusOK, BackupCodes{BackupCodes: codes}, err
}

func (h *Routes) disable2FA(r *http.Request) (int, any, error) {
	var in TwoFactorDisableRequest
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	a, _ := access.ActorFrom(r.Context())
	return http.StatusNoContent, nil, h.Svc.DisableTOTP(r.Context(), a.UserID, in.Password, in.Code)
}

func (h *Routes) otpRequest(r *http.Request) (int, any, error) {
	var in CodeRequest
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	if err := h.Svc.RequestLoginCode(r.Context(), in.Email, in.Channel); err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, Status{Status: "if an account has this address, a code is on its way"}, nil
}

func (h *Routes) otpVerify(r *http.Request) (int, any, error) {
	var in CodeLoginRequest
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	t, err := h.Svc.LoginWithCode(r.Context(), in.Email, in.Code)
	return http.StatusOK, t, err
}

// RegisterRequest is the body of register.
type RegisterRequest struct {
	Email       string `json:"email"`
	Password    string `json:"password"`
	DisplayName string `json:"displayName"`
}

// LoginRequest is the body of login.
type LoginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// RefreshRequest is the body of refresh.
type RefreshRequest struct {
	RefreshToken string `json:"refreshToken"`
}

// PasswordResetRequest is the body of resetRequest.
type PasswordResetRequest struct {
	Email string `json:"email"`
}

// PasswordResetConfirmRequest is the body of resetConfirm.
type PasswordResetConfirmRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// VerifyEmailRequest is the body of verifyConfirm.
type VerifyEmailRequest struct {
	Token string `json:"token"`
}

// ChangePasswordRequest is the body of changePassword.
type ChangePasswordRequest struct {
	CurrentPassword string `json:"currentPassword"`
	NewPassword     string `json:"newPassword"`
}

// TwoFactorLoginRequest is the body of verify2FA.
type TwoFactorLoginRequest struct {
	InterimToken string `json:"interimToken"`
	Code         string `json:"code"`
}

// TwoFactorSetupRequest is the body of setup2FA.
type TwoFactorSetupRequest struct {
	Password string `json:"password"`
}

// TwoFactorEnableRequest is the body of enable2FA.
type TwoFactorEnableRequest struct {
	Code string `json:"code"`
}

// TwoFactorDisableRequest is the body of disable2FA.
type TwoFactorDisableRequest struct {
	Password string `json:"password"`
	Code     string `json:"code"`
}

// CodeRequest is the body of otpRequest.
type CodeRequest struct {
	Email   string `json:"email"`
	Channel string `json:"channel"`
}

// CodeLoginRequest is the body of otpVerify.
type CodeLoginRequest struct {
	Email string `json:"email"`
	Code  string `json:"code"`
}

// Status is the answer of requests whose effect is out of band.
type Status struct {
	Status string `json:"status"`
}

// BackupCodes are shown once, when two-factor sign-in is turned on.
type BackupCodes struct {
	BackupCodes []string `json:"backupCodes"`
}

// ProviderInfo names an external sign-in provider.
type ProviderInfo struct {
	Name     string `json:"name"`
	StartURL string `json:"startUrl"`
}

func (h *Routes) providers(*http.Request) (int, any, error) {
	names := h.Svc.Providers()
	out := make([]ProviderInfo, len(names))
	for i, n := range names {
		out[i] = ProviderInfo{Name: n, StartURL: "/api/v1/auth/oidc/" + n + "/start"}
	}
	return http.StatusOK, httpapi.List[ProviderInfo]{Items: out}, nil
}

func (h *Routes) oidcStart(w http.ResponseWriter, r *http.Request) {
	u, err := h.Svc.StartOIDC(r.Context(), r.PathValue("provider"), r.URL.Query().Get("redirect"))
	if err != nil {
		httpapi.Fail(w, r, h.Log, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u, http.StatusFound)
}

// oidcCallback is reached by the browser, so failures go back to the
// sign-in page with a reason instead of a JSON body.
func (h *Routes) oidcCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	w.Header().Set("Cache-Control", "no-store")
	fail := func(reason string) {
		http.Redirect(w, r, "/signin?error="+url.QueryEscape(reason), http.StatusFound)
	}
	if e := q.Get("error"); e != "" {
		fail("the provider refused the sign-in")
		return
	}
	to, err := h.Svc.FinishOIDC(r.Context(), r.PathValue("provider"), q.Get("code"), q.Get("state"))
	if err != nil {
		if e, ok := httpapi.As(err); ok && e.Status < 500 {
			h.Log.InfoContext(r.Context(), "oidc_sign_in_refused", "provider", r.PathValue("provider"), "error", err)
			fail(e.Message)
			return
		}
		h.Log.ErrorContext(r.Context(), "oidc_sign_in_failed", "provider", r.PathValue("provider"), "error", err)
		fail("sign-in failed; try again")
		return
	}
	http.Redirect(w, r, to, http.StatusFound)
}

// LoginCodeRequest carries the code the sign-in redirect handed over.
type LoginCodeRequest struct {
	LoginCode string `json:"loginCode"`
}

func (h *Routes) oidcExchange(r *http.Request) (int, any, error) {
	var in LoginCodeRequest
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	t, err := h.Svc.ExchangeLoginCode(r.Context(), in.LoginCode)
	return http.StatusOK, t, err
}

func (h *Routes) regenCodes(r *http.Request) (int, any, error) {
	var in TwoFactorSetupRequest
	if err := httpapi.Decode(r, &in, 0); err != nil {
		return 0, nil, err
	}
	a, _ := access.ActorFrom(r.Context())
	codes, err := h.Svc.RegenerateBackupCodes(r.Context(), a.UserID, in.Password)
	return http.StatusOK, BackupCodes{BackupCodes: codes}, err
}
