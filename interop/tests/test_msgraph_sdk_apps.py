"""Microsoft Graph's Python SDK (msgraph-sdk, pinned in requirements.txt), unmodified,
registering a partner app on the emulator through Graph's application API: the calls
of the portal's steps 1-4 (`mdep app create` makes the same ones).

The bootstrap credential is "Fabrikam App Manager" of interop/scenario.toml, holding
Application.ReadWrite.All and AppRoleAssignment.ReadWrite.All in the home tenant. The
app it creates must be usable at once: consent in a customer tenant, then a token by
client credentials with the password Graph handed out.
"""

from __future__ import annotations

import asyncio
import ssl
import uuid
from urllib.parse import urlparse

import httpx
import pytest
from azure.identity import ClientSecretCredential
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.applications.applications_request_builder import ApplicationsRequestBuilder
from msgraph.generated.applications.item.add_password.add_password_post_request_body import (
    AddPasswordPostRequestBody,
)
from msgraph.generated.models.app_role_assignment import AppRoleAssignment
from msgraph.generated.models.application import Application
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.password_credential import PasswordCredential
from msgraph.generated.models.required_resource_access import RequiredResourceAccess
from msgraph.generated.models.resource_access import ResourceAccess
from msgraph.generated.models.service_principal import ServicePrincipal
from msgraph.generated.service_principals.service_principals_request_builder import (
    ServicePrincipalsRequestBuilder,
)
from msgraph_core import GraphClientFactory

from helpers import CLIENT_ID, CONTOSO, FABRIKAM, MDE_SCOPE, SCENARIO, SECRET, decode_unverified

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
WINDOWS_DEFENDER_ATP = "fc780465-2017-40d4-a0c5-307022471b92"
# WindowsDefenderATP's app-role ids (crates/mdep-model/src/permissions.rs).
ALERT_READ_ALL = "71fe6b80-7034-4028-9ed8-0f316df9c3ff"

_MANAGER = next(a for a in SCENARIO["apps"] if a["name"] == "Fabrikam App Manager")


def _credential(emulator, tenant, client_id, secret):
    return ClientSecretCredential(
        tenant, client_id, secret,
        authority=emulator.base_url,
        disable_instance_discovery=True,
        connection_verify=emulator.ca_file,
        retry_total=0,
    )


def _graph(emulator, client_id=_MANAGER["client_id"], secret=_MANAGER["secrets"][0]["value"]):
    auth = AzureIdentityAuthenticationProvider(
        _credential(emulator, FABRIKAM["id"], client_id, secret),
        scopes=[GRAPH_SCOPE],
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


@_sync
async def test_sdk_registers_a_partner_app_that_works_at_once(emulator):
    graph = _graph(emulator)
    name = f"Fabrikam Connector {uuid.uuid4().hex[:8]}"
    app = await graph.applications.post(Application(
        display_name=name,
        sign_in_audience="AzureADMultipleOrgs",
        required_resource_access=[RequiredResourceAccess(
            resource_app_id=WINDOWS_DEFENDER_ATP,
            resource_access=[ResourceAccess(id=uuid.UUID(ALERT_READ_ALL), type="Role")],
        )],
    ))
    assert app.display_name == name
    assert app.sign_in_audience == "AzureADMultipleOrgs"
    assert uuid.UUID(str(app.app_id)) and uuid.UUID(str(app.id))
    assert app.required_resource_access[0].resource_app_id == WINDOWS_DEFENDER_ATP

    # Found again by its name, as `mdep app create` looks before it creates.
    found = await graph.applications.get(request_configuration=RequestConfiguration(
        query_parameters=ApplicationsRequestBuilder.ApplicationsRequestBuilderGetQueryParameters(
            filter=f"displayName eq '{name}'",
        ),
    ))
    assert [a.app_id for a in found.value] == [app.app_id]

    cred = await graph.applications.by_application_id(app.id).add_password.post(
        AddPasswordPostRequestBody(password_credential=PasswordCredential(display_name="interop")),
    )
    assert cred.secret_text and cred.key_id and cred.display_name == "interop"

    # The home tenant's service principal and the "Grant consent" click.
    sp = await graph.service_principals.post(ServicePrincipal(app_id=app.app_id))
    assert sp.app_id == app.app_id
    resources = await graph.service_principals.get(request_configuration=RequestConfiguration(
        query_parameters=ServicePrincipalsRequestBuilder.ServicePrincipalsRequestBuilderGetQueryParameters(
            filter=f"appId eq '{WINDOWS_DEFENDER_ATP}'",
        ),
    ))
    (mde,) = resources.value
    assignment = await graph.service_principals.by_service_principal_id(mde.id).app_role_assigned_to.post(
        AppRoleAssignment(
            principal_id=uuid.UUID(sp.id),
            resource_id=uuid.UUID(mde.id),
            app_role_id=uuid.UUID(ALERT_READ_ALL),
        ),
    )
    assert str(assignment.app_role_id) == ALERT_READ_ALL
    assert str(assignment.principal_id) == sp.id

    # Usable at once: a token in the home tenant carries the granted role...
    home = _credential(emulator, FABRIKAM["id"], app.app_id, cred.secret_text).get_token(MDE_SCOPE)
    assert decode_unverified(home.token)[1]["roles"] == ["Alert.Read.All"]
    # ...and a customer's administrator consents to it like to any app.
    r = emulator.admin_post("consents", {"tenant": CONTOSO["id"], "app": app.app_id})
    assert r.status_code == 201, r.text
    token = _credential(emulator, CONTOSO["id"], app.app_id, cred.secret_text).get_token(MDE_SCOPE)
    _, claims = decode_unverified(token.token)
    assert claims["tid"] == CONTOSO["id"]
    assert claims["appid"] == app.app_id
    assert claims["roles"] == ["Alert.Read.All"]


@_sync
async def test_sdk_sees_graphs_403_naming_the_role_without_application_readwrite(emulator):
    # The connector app holds security roles only: registering apps is refused.
    graph = _graph(emulator, CLIENT_ID, SECRET)
    with pytest.raises(ODataError) as err:
        await graph.applications.post(Application(display_name="not allowed"))
    assert err.value.response_status_code == 403
    assert "Application.ReadWrite.All" in err.value.error.message
