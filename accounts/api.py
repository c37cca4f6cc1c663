from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import ValidationError
from rest_framework.fields import DateTimeField
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.serializers import error

from . import login_throttle, mfa
from .errors import LoginThrottled, SecondFactorRefused
from .token_auth import KnoxTokenAuthentication
from .tokens import issue_token, revoke_tokens


class TokenLoginSerializer(AuthTokenSerializer):
    otp = serializers.CharField(
        required=False,
        max_length=20,
        help_text="The current authenticator code or a recovery code (accounts with two-step verification).",
    )


class ObtainTokenView(APIView):
    """`POST /api/v1/auth/token/` with username and password returns a new `{"token", "expiry"}` per
    login (stored hashed, expiring after API_TOKEN_TTL_HOURS); failed logins are throttled like the
    login page (429 while the username or the address is at its failure limit)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    serializer_class = TokenLoginSerializer

    @extend_schema(
        request=TokenLoginSerializer,
        responses={
            200: inline_serializer(
                "TokenResponse", {"token": serializers.CharField(), "expiry": serializers.DateTimeField()}
            ),
            400: error(
                "Missing fields, wrong username or password, or a missing or wrong `otp` "
                "(the second-factor code, for accounts that use one)"
            ),
            403: error("The account must set up two-step verification first"),
            429: error("Too many failed logins for this username or address; Retry-After says when"),
        },
    )
    def post(self, request):
        data = request.data if hasattr(request.data, "get") else {}
        username = str(data.get("username") or "")
        if username and login_throttle.is_blocked(username=username, request=request):
            raise LoginThrottled(login_throttle.MESSAGE, retry_after=login_throttle.RETRY_AFTER_SECONDS)
        serializer = TokenLoginSerializer(data=data, context={"request": request})
        if not serializer.is_valid():
            if username and data.get("password"):
                login_throttle.record_failure(username=username, request=request)
            raise ValidationError(serializer.errors)
        user = serializer.validated_data["user"]
        try:
            mfa.check_for_token(user, serializer.validated_data.get("otp"))
        except SecondFactorRefused:
            login_throttle.record_failure(username=username, request=request)
            raise
        row, secret = issue_token(user)
        return Response(
            {"token": secret, "expiry": DateTimeField().to_representation(row.expiry)},
            status=status.HTTP_200_OK,
        )


class LogoutView(APIView):
    """`POST /api/v1/auth/logout/` revokes the token that authenticates the request (204);
    `?all=1` revokes every token of the account."""

    authentication_classes = [KnoxTokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None, 401: error("No valid token")})
    def post(self, request):
        everything = request.query_params.get("all") in ("1", "true")
        revoke_tokens(
            user=request.user,
            reason="logout_all" if everything else "logout",
            by=request.user,
            token=None if everything else request.auth,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
