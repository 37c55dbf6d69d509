//! Entra ID (AADSTS) error codes met in the client-credentials and admin-consent flows.
//!
//! Source: `entra-oauth.md` §2.2 (codes, OAuth `error` values and HTTP statuses as
//! observed in public issue reports and Microsoft's error-code reference). The hint is
//! ours: what a partner's engineer should do about it.

/// One known AADSTS code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aadsts {
    /// The number after `AADSTS`.
    pub code: u32,
    /// The OAuth `error` value Entra returns with it.
    pub error: &'static str,
    /// The HTTP status of the token endpoint's answer.
    pub status: u16,
    /// What to do about it.
    pub hint: &'static str,
}

macro_rules! codes {
    ($($name:ident = $code:literal, $error:literal, $status:literal, $hint:literal;)*) => {
        $(
            #[doc = concat!("AADSTS", stringify!($code), ": ", $hint)]
            pub const $name: Aadsts = Aadsts { code: $code, error: $error, status: $status, hint: $hint };
        )*
        /// Every code this module knows.
        pub const ALL: &[Aadsts] = &[$($name,)*];
    };
}

codes! {
    INVALID_CLIENT_SECRET = 7000215, "invalid_client", 401, "The secret is wrong. Send the secret's value (shown once when it was created), not its id, or create a new secret.";
    EXPIRED_CLIENT_SECRET = 7000222, "invalid_client", 401, "Every secret of the app has expired. Add a new secret (or a certificate) to the app registration.";
    MISSING_CLIENT_CREDENTIAL = 7000218, "invalid_client", 401, "The request carried no credential. Configure a client secret or a certificate for the app.";
    APP_NOT_FOUND_IN_DIRECTORY = 700016, "unauthorized_client", 400, "The customer's Global Administrator has not consented to the app in this tenant yet. Send them the consent link (mdep consent-url).";
    TENANT_NOT_FOUND = 90002, "invalid_request", 400, "No such tenant. Check the tenant id or domain, and that it belongs to the cloud you target.";
    INVALID_TENANT_IDENTIFIER = 900023, "invalid_request", 400, "The tenant must be a GUID or a verified domain such as contoso.onmicrosoft.com.";
    SCOPE_NOT_DEFAULT = 1002012, "invalid_scope", 400, "Client-credentials scopes must be the resource followed by /.default, e.g. https://api.securitycenter.microsoft.com/.default.";
    INVALID_SCOPE = 70011, "invalid_scope", 400, "The scope is malformed. Ask for exactly one resource's /.default scope.";
    RESOURCE_NOT_FOUND = 500011, "invalid_resource", 400, "The resource is unknown in this tenant. For MDE use https://api.securitycenter.microsoft.com.";
    MISSING_PARAMETER = 900144, "invalid_request", 400, "A required form parameter is missing from the token request.";
    UNSUPPORTED_GRANT_TYPE = 70003, "unsupported_grant_type", 400, "Use grant_type=client_credentials.";
    RESOURCE_PARAMETER_ON_V2 = 901002, "invalid_request", 400, "The v2 endpoint takes scope=<resource>/.default, not resource=. Use /oauth2/token for resource=.";
    GRANT_NOT_ON_COMMON = 9001023, "invalid_request", 400, "Client credentials need a tenant: use the customer's tenant id or domain instead of /common or /consumers.";
    ASSERTION_KEY_INVALID = 700027, "invalid_client", 401, "The certificate that signed the assertion is not registered on the app, or the signature does not verify. Upload the certificate's public part to the app.";
    ASSERTION_TIME_RANGE = 700024, "invalid_client", 401, "The client assertion is expired or not yet valid. Check the machine clock (UTC) and build a fresh assertion per request.";
    ASSERTION_SUBJECT_MISMATCH = 50048, "invalid_client", 401, "The assertion's iss and sub must both be the app's client id.";
    INVALID_ASSERTION = 50027, "invalid_client", 401, "The client assertion is not a well-formed signed JWT with a certificate thumbprint (x5t or x5t#S256) header.";
    ASSERTION_AUDIENCE = 700023, "invalid_client", 401, "The assertion's aud must be the token endpoint the request is sent to (as its discovery document names it).";
    ASSERTION_CLIENT_MISMATCH = 700021, "invalid_client", 401, "The assertion's iss/sub must equal the client_id sent with it.";
    ASSERTION_REPLAYED = 50013, "invalid_client", 401, "A client assertion (jti) can be used once only. Build a new assertion per request.";
    INVALID_CLIENT_ASSERTION_TYPE = 50012, "invalid_client", 401, "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.";
    ENDPOINT_POST_ONLY = 900561, "invalid_request", 400, "The token endpoint only accepts POST.";
    REDIRECT_URI_MISMATCH = 50011, "invalid_request", 400, "Register the redirect URI on the app, or send one that is registered, exactly as written.";
    NO_REPLY_ADDRESS = 500113, "invalid_request", 400, "Register a redirect URI on the app (e.g. https://portal.azure.com).";
    INVALID_CREDENTIALS = 50126, "invalid_grant", 400, "The user name or password is wrong.";
    USER_NOT_FOUND = 50034, "invalid_grant", 400, "No such user in this directory: sign in with the tenant's Global Administrator.";
    APP_NOT_MULTI_TENANT = 50194, "invalid_request", 400, "The app is single-tenant: set its supported account types to 'any organizational directory'.";
    INVALID_INSTANCE = 50049, "invalid_instance", 400, "The authority host is not an instance this service knows (instance discovery).";
    USER_DECLINED = 65004, "access_denied", 400, "The administrator declined consent.";
    REQUEST_TOO_LARGE = 90056, "invalid_request", 413, "The request is too large.";
}

/// Looks a code up.
pub fn lookup(code: u32) -> Option<Aadsts> {
    ALL.iter().copied().find(|c| c.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_every_client_credentials_row() {
        for code in [
            7000215, 7000222, 7000218, 700016, 90002, 900023, 1002012, 70011, 500011, 900144,
            70003, 901002, 9001023, 700027, 700024,
        ] {
            assert!(lookup(code).is_some(), "AADSTS{code} missing");
        }
        assert_eq!(lookup(700016).map(|c| c.status), Some(400));
        assert_eq!(lookup(7000215).map(|c| c.error), Some("invalid_client"));
    }
}
