from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from . import login_throttle


class ObtainTokenView(APIView):
    """`POST /api/v1/auth/token/` with username and password returns `{"token"}`; failed logins are
    throttled like the login page (429 while the username is at its failure limit)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    serializer_class = AuthTokenSerializer

    @extend_schema(
        request=AuthTokenSerializer,
        responses={
            200: inline_serializer("TokenResponse", {"token": serializers.CharField()}),
            400: OpenApiResponse(description="Missing fields, or wrong username or password"),
            429: OpenApiResponse(description="Too many failed logins for this username: `{detail, code}`"),
        },
    )
    def post(self, request):
        data = request.data if hasattr(request.data, "get") else {}
        username = str(data.get("username") or "")
        if username and login_throttle.is_blocked(username=username, request=request):
            response = Response(
                {"detail": login_throttle.MESSAGE, "code": "too_many_failed_logins"},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
            )
            response["Retry-After"] = str(login_throttle.RETRY_AFTER_SECONDS)
            return response
        serializer = AuthTokenSerializer(data=data, context={"request": request})
        if not serializer.is_valid():
            if username and data.get("password"):
                login_throttle.record_failure(username=username, request=request)
            return Response(serializer.errors, status=status.HTTP_400_BAD_REQUEST)
        token, _ = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key}, status=status.HTTP_200_OK)
