//! Consent links: the one Microsoft's partner page prints, and the v2 admin-consent form
//! (`mde-api.md` §2.4, `entra-oauth.md` §6).

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// What a consent link is for.
#[derive(Debug, Clone, Default)]
pub struct ConsentLink<'a> {
    /// The sign-in host (`https://login.microsoftonline.com`, or the emulator's).
    pub authority: &'a str,
    /// The partner app's client id.
    pub client_id: &'a str,
    /// The customer tenant (id or domain); `common` (seed link) or `organizations` (v2) when absent.
    pub tenant: Option<&'a str>,
    /// Where the admin lands afterwards (must be registered on the app).
    pub redirect_uri: Option<&'a str>,
    /// Opaque value echoed back on the redirect.
    pub state: Option<&'a str>,
}

impl ConsentLink<'_> {
    /// The seed's link: `/common/oauth2/authorize?prompt=consent&client_id=…&response_type=code&sso_reload=true`.
    pub fn seed(&self) -> String {
        let mut url = format!(
            "{}/{}/oauth2/authorize?prompt=consent&client_id={}&response_type=code&sso_reload=true",
            self.authority.trim_end_matches('/'),
            enc(self.tenant.unwrap_or("common")),
            enc(self.client_id)
        );
        self.append(&mut url);
        url
    }

    /// The v2 admin-consent link for `resource` (its `/.default` scope).
    pub fn v2(&self, resource: &str) -> String {
        let mut url = format!(
            "{}/{}/v2.0/adminconsent?client_id={}&scope={}",
            self.authority.trim_end_matches('/'),
            enc(self.tenant.unwrap_or("organizations")),
            enc(self.client_id),
            enc(&format!("{}/.default", resource.trim_end_matches('/')))
        );
        self.append(&mut url);
        url
    }

    fn append(&self, url: &mut String) {
        if let Some(r) = self.redirect_uri {
            url.push_str("&redirect_uri=");
            url.push_str(&enc(r));
        }
        if let Some(s) = self.state {
            url.push_str("&state=");
            url.push_str(&enc(s));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_link_is_microsofts_form() {
        let l = ConsentLink {
            authority: "https://login.microsoftonline.com",
            client_id: "00000000-0000-0000-0000-000000000000",
            ..Default::default()
        };
        // Verbatim from the partner page (mde-api.md §2.4).
        assert_eq!(
            l.seed(),
            "https://login.microsoftonline.com/common/oauth2/authorize?prompt=consent&client_id=00000000-0000-0000-0000-000000000000&response_type=code&sso_reload=true"
        );
        let v2 = ConsentLink {
            tenant: Some("contoso.onmicrosoft.com"),
            redirect_uri: Some("https://portal.azure.com"),
            state: Some("a b"),
            ..l
        }
        .v2("https://api.securitycenter.microsoft.com");
        assert_eq!(
            v2,
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/adminconsent?client_id=00000000-0000-0000-0000-000000000000&scope=https%3A%2F%2Fapi.securitycenter.microsoft.com%2F.default&redirect_uri=https%3A%2F%2Fportal.azure.com&state=a+b"
        );
    }
}
