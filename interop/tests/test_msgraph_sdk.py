"""Microsoft Graph's Python SDK (msgraph-sdk, pinned in requirements.txt), unmodified,
against the emulator's Graph security endpoints over HTTPS.

The SDK is pointed at the emulator the way its documentation points it at a national
cloud: a GraphRequestAdapter whose base_url is the emulator's `/v1.0`, over the SDK's
own middleware pipeline (GraphClientFactory) on an httpx client that trusts the
emulator's CA; tokens come from azure-identity's ClientSecretCredential with the
emulator as authority, through the SDK's AzureIdentityAuthenticationProvider.
"""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import urlparse

import httpx
import pytest
import requests
from azure.identity import ClientSecretCredential
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.security.alert import Alert
from msgraph.generated.models.security.alert_status import AlertStatus
from msgraph.generated.models.security.incident import Incident
from msgraph.generated.models.security.incident_status import IncidentStatus
from msgraph.generated.security.alerts_v2.alerts_v2_request_builder import Alerts_v2RequestBuilder
from msgraph.generated.security.incidents.incidents_request_builder import IncidentsRequestBuilder
from msgraph.generated.security.microsoft_graph_security_run_hunting_query.run_hunting_query_post_request_body import (
    RunHuntingQueryPostRequestBody,
)
from msgraph_core import GraphClientFactory

from helpers import CLIENT_ID, CONTOSO, MDE_SCOPE, SECRET, TAILSPIN, decode_unverified

GRAPH_SCOPE = "https://graph.microsoft.com/.default"


def _credential(emulator, tenant):
    return ClientSecretCredential(
        tenant, CLIENT_ID, SECRET,
        authority=emulator.base_url,
        disable_instance_discovery=True,
        connection_verify=emulator.ca_file,
        retry_total=0,
    )


def _graph(emulator, tenant, scope=GRAPH_SCOPE):
    auth = AzureIdentityAuthenticationProvider(
        _credential(emulator, tenant),
        scopes=[scope],
        allowed_hosts=[urlparse(emulator.base_url).hostname],
    )
    tls = ssl.create_default_context(cafile=emulator.ca_file)
    http = GraphClientFactory.create_with_default_middleware(client=httpx.AsyncClient(verify=tls))
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = f"{emulator.base_url}/v1.0"
    return GraphServiceClient(request_adapter=adapter)


def _sync(test):
    """Runs an async test body in one event loop (the SDK's httpx client is bound to it)."""
    def run(emulator):
        asyncio.run(test(emulator))
    run.__name__ = test.__name__
    run.__doc__ = test.__doc__
    return run


def test_graph_token_has_graphs_audience_and_roles(emulator):
    token = _credential(emulator, CONTOSO["id"]).get_token(GRAPH_SCOPE)
    _, claims = decode_unverified(token.token)
    assert claims["aud"] == "https://graph.microsoft.com"
    assert claims["ver"] == "1.0"
    assert sorted(claims["roles"]) == [
        "SecurityAlert.ReadWrite.All", "SecurityIncident.ReadWrite.All", "ThreatHunting.Read.All",
    ]


@_sync
async def test_run_hunting_query_matches_the_legacy_endpoint(emulator):
    client = _graph(emulator, CONTOSO["id"])
    query = "AlertInfo | project AlertId, Severity, Title | order by AlertId asc"
    result = await client.security.microsoft_graph_security_run_hunting_query.post(
        RunHuntingQueryPostRequestBody(query=query))
    assert [(c.name, c.type) for c in result.schema] == [
        ("AlertId", "String"), ("Severity", "String"), ("Title", "String")]
    rows = [r.additional_data for r in result.results]
    assert rows
    # The same query on the MDE API, with an MDE token, returns the same rows.
    mde = _credential(emulator, CONTOSO["id"]).get_token(MDE_SCOPE).token
    legacy = requests.post(
        emulator.url("/api/advancedqueries/run"),
        json={"Query": query},
        headers={"Authorization": f"Bearer {mde}"},
        verify=emulator.ca_file,
        timeout=30,
    )
    assert legacy.status_code == 200, legacy.text
    assert rows == legacy.json()["Results"]
    # Timespan: a window after the generated data holds nothing.
    empty = await client.security.microsoft_graph_security_run_hunting_query.post(
        RunHuntingQueryPostRequestBody(query="AlertInfo | count", timespan="2030-01-01T00:00:00Z/P1D"))
    assert empty.results[0].additional_data["Count"] == 0


@_sync
async def test_alerts_v2_list_filter_and_update(emulator):
    client = _graph(emulator, CONTOSO["id"])
    page = await client.security.alerts_v2.get()
    assert page.value, "the tenant has alerts"
    first = page.value[0]
    assert first.service_source is not None
    assert first.evidence, "evidence deserialised into the SDK's types"
    config = RequestConfiguration(
        query_parameters=Alerts_v2RequestBuilder.Alerts_v2RequestBuilderGetQueryParameters(
            filter="severity eq 'high'", top=5))
    high = await client.security.alerts_v2.get(request_configuration=config)
    assert all(a.severity.value == "high" for a in high.value)
    updated = await client.security.alerts_v2.by_alert_id(first.id).patch(
        Alert(status=AlertStatus.Resolved, assigned_to="soc@fabrikam.example"))
    assert updated.status == AlertStatus.Resolved
    again = await client.security.alerts_v2.by_alert_id(first.id).get()
    assert again.assigned_to == "soc@fabrikam.example"


@_sync
async def test_incidents_expand_alerts_top_limit_and_update(emulator):
    client = _graph(emulator, CONTOSO["id"])
    config = RequestConfiguration(
        query_parameters=IncidentsRequestBuilder.IncidentsRequestBuilderGetQueryParameters(
            expand=["alerts"], top=50))
    page = await client.security.incidents.get(request_configuration=config)
    assert page.value
    incident = page.value[0]
    assert incident.alerts and all(a.incident_id == incident.id for a in incident.alerts)
    too_many = RequestConfiguration(
        query_parameters=IncidentsRequestBuilder.IncidentsRequestBuilderGetQueryParameters(top=51))
    with pytest.raises(ODataError) as excinfo:
        await client.security.incidents.get(request_configuration=too_many)
    assert excinfo.value.response_status_code == 400
    assert "The limit of '50' for Top query has been exceeded" in excinfo.value.error.message
    updated = await client.security.incidents.by_incident_id(incident.id).patch(
        Incident(status=IncidentStatus.Resolved, custom_tags=["interop"]))
    assert updated.status == IncidentStatus.Resolved
    assert updated.custom_tags == ["interop"]


@_sync
async def test_errors_reach_the_sdk_as_odata_errors(emulator):
    # A token for the MDE API is refused by Graph with Graph's envelope.
    wrong = _graph(emulator, CONTOSO["id"], scope=MDE_SCOPE)
    with pytest.raises(ODataError) as excinfo:
        await wrong.security.alerts_v2.get()
    assert excinfo.value.response_status_code == 401
    assert excinfo.value.error.code == "InvalidAuthenticationToken"
    assert excinfo.value.error.inner_error is not None
    # Tailspin consented before the Graph permissions existed for it: no Graph role.
    partial = _graph(emulator, TAILSPIN["id"])
    with pytest.raises(ODataError) as excinfo:
        await partial.security.incidents.get()
    assert excinfo.value.response_status_code == 403
    assert excinfo.value.error.code == "Forbidden"
