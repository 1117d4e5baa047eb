from allauth.account import views as allauth_views
from allauth.account.internal.flows.email_verification_by_code import EmailVerificationProcess
from allauth.account.internal.flows.login_by_code import LoginCodeVerificationProcess
from allauth.account.stages import LoginByCodeStage, LoginStageController
from allauth.core import ratelimit
from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.codes import code_try_refused
from accounts.services import user_delete


class ProfileForm(forms.Form):
    display_name = forms.CharField(max_length=150, required=False, label="Display name")


class DeleteAccountForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your password. Nothing was deleted.", code="wrong_password")
        return password


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def account_settings(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            user.display_name = form.cleaned_data["display_name"].strip()
            user.save(update_fields=["display_name"])
            if not request.htmx:
                messages.success(request, "Display name saved.")
                return redirect("account_settings")
            form = ProfileForm(initial={"display_name": user.display_name})
            return render(request, "accounts/settings.html#profile", {"form": form, "saved": True})
    else:
        form = ProfileForm(initial={"display_name": user.display_name})
    template = "accounts/settings.html#profile" if request.htmx else "accounts/settings.html"
    return render(request, template, {"form": form})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def account_delete(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = DeleteAccountForm(request.POST, user=request.user)
        # Each wrong password is a guess at it: count them like failed logins.
        limited = ratelimit.consume_or_429(request, action="reauthenticate", user=request.user)
        if limited:
            return limited
        if form.is_valid():
            user_delete(user=request.user)
            logout(request)
            messages.success(request, "Your account and all of its photos have been deleted.")
            return redirect("home")
    else:
        form = DeleteAccountForm(user=request.user)
    return render(request, "accounts/delete.html", {"form": form})


@require_http_methods(["GET", "HEAD", "POST"])
def confirm_login_code(request: HttpRequest) -> HttpResponse:
    """allauth's code page, with its tries counted in the shared cache (accounts.codes) and a
    time-based throttle on "send me a new code".

    allauth caps the number of resends per login; this also spaces them out, so the page
    cannot be used to flood someone's inbox.
    """
    if request.method == "POST" and not request.user.is_authenticated:
        stage = LoginStageController.enter(request, LoginByCodeStage.key)
        process = LoginCodeVerificationProcess.resume(stage) if stage else None
        refused = code_try_refused(request, purpose="login", process=process)
        if refused:
            return refused
    if request.method == "POST" and request.POST.get("action") == "resend":
        key = f"session:{request.session.session_key}"
        limited = ratelimit.consume_or_429(request, action="resend_login_code", key=key)
        if limited:
            return limited
    return allauth_views.confirm_login_code(request)


@require_http_methods(["GET", "HEAD", "POST"])
def confirm_email_code(request: HttpRequest) -> HttpResponse:
    """allauth's address-verification code page (after sign-up and for a new address), with
    its tries counted in the shared cache like the sign-in code's."""
    if request.method == "POST":
        process = EmailVerificationProcess.resume(request)
        refused = code_try_refused(request, purpose="email", process=process)
        if refused:
            return refused
    return allauth_views.email_verification_sent(request)
