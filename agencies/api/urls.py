from django.urls import path

from .views import AgencyListApi, AgencyMeApi

urlpatterns = [
    path("agencies/", AgencyListApi.as_view(), name="agency-list"),
    path("agencies/me", AgencyMeApi.as_view(), name="agency-me"),
]
