"""Login, logout, password change and personal API tokens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.password_validation import password_validators_help_texts
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banbantong.accounts import services
from banbantong.accounts.forms import LoginForm, PasswordChangeForm, TokenForm
from banbantong.accounts.models import ApiToken
from banbantong.core.http import AuthedRequest
from banbantong.core.scope import get_for_user


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


def _apply_errors(form: PasswordChangeForm | TokenForm, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@login_required
def password_change(request: AuthedRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.change_password(
                request.user,
                actor=request.user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
            )
        except ValidationError as exc:
            if not hasattr(exc, "error_dict"):
                exc = ValidationError({"new_password": exc.messages})
            _apply_errors(form, exc)
        else:
            update_session_auth_hash(request, request.user)
            messages.success(request, _("密码已修改。"))
            return redirect("core:dashboard")
    return render(
        request, "accounts/password_change.html", {"form": form, "policy": password_validators_help_texts()}
    )


@login_required
def tokens(request: AuthedRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            _token, created = services.create_token(actor=request.user, name=form.cleaned_data["name"])
            form = TokenForm()
        except ValidationError as exc:
            _apply_errors(form, exc)
    return render(
        request,
        "accounts/tokens.html",
        {"form": form, "created": created, "tokens": ApiToken.objects.for_user(request.user)},
    )


@login_required
@require_POST
def token_revoke(request: AuthedRequest, token_id: int) -> HttpResponse:
    token = get_for_user(ApiToken.objects.all(), request.user, pk=token_id)
    services.revoke_token(token, actor=request.user)
    messages.success(request, _("令牌“%(name)s”已吊销。") % {"name": token.name})
    return redirect("accounts:tokens")
