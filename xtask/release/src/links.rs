//! Web links for a repository: where a commit and an issue live, from the
//! remote's URL or a configured one. Credentials in a URL are dropped, never
//! carried into a link.

/// Which forge's URL layout to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Forge {
    /// GitHub, Gitea, Forgejo: `/commit/<id>`, `/issues/<n>`.
    Plain,
    /// GitLab: `/-/commit/<id>`, `/-/issues/<n>`.
    GitLab,
}

/// The web home of a repository, e.g. `https://github.com/owner/repo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoLinks {
    base: String,
    forge: Forge,
}

impl RepoLinks {
    /// From a git remote URL (`git@host:o/r.git`, `ssh://git@host/o/r`,
    /// `https://user:token@host/o/r.git`) or a web URL; `None` for local paths
    /// and `file://` remotes, which have no web pages.
    pub fn from_url(url: &str) -> Option<RepoLinks> {
        let url = url.trim();
        let (host, path) = if let Some(rest) = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .or_else(|| url.strip_prefix("ssh://"))
            .or_else(|| url.strip_prefix("git://"))
        {
            let (authority, path) = rest.split_once('/')?;
            let host = authority.rsplit('@').next()?;
            // An ssh port is not the web server's port.
            let host = if url.starts_with("ssh://") {
                host.split(':').next()?
            } else {
                host
            };
            (host.to_string(), path.to_string())
        } else if let Some((user_host, path)) = url.split_once(':') {
            // scp-like `git@host:owner/repo.git`; not a Windows drive or a path.
            if user_host.contains('/') || path.starts_with('/') || user_host.len() < 2 {
                return None;
            }
            (user_host.rsplit('@').next()?.to_string(), path.to_string())
        } else {
            return None;
        };
        let path = path.trim_end_matches('/');
        let path = path.strip_suffix(".git").unwrap_or(path);
        let valid = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~/:".contains(&b))
        };
        if !valid(&host) || !valid(path) || !path.contains('/') || host.contains('/') {
            return None;
        }
        let forge = if host.contains("gitlab") {
            Forge::GitLab
        } else {
            Forge::Plain
        };
        Some(RepoLinks {
            base: format!("https://{host}/{path}"),
            forge,
        })
    }

    fn section(&self) -> &'static str {
        match self.forge {
            Forge::Plain => "",
            Forge::GitLab => "/-",
        }
    }

    pub fn commit(&self, id: &str) -> String {
        format!("{}{}/commit/{id}", self.base, self.section())
    }

    pub fn issue(&self, number: &str) -> String {
        format!("{}{}/issues/{number}", self.base, self.section())
    }

    pub fn compare(&self, from: &str, to: &str) -> String {
        format!("{}{}/compare/{from}...{to}", self.base, self.section())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_urls_become_web_links_without_credentials() {
        let cases = [
            (
                "git@github.com:o/r.git",
                Some("https://github.com/o/r/commit/abc"),
            ),
            (
                "https://x-access-token:ghs_SECRET@github.com/o/r.git",
                Some("https://github.com/o/r/commit/abc"),
            ),
            (
                "ssh://git@gitlab.example.com:2222/group/sub/r.git",
                Some("https://gitlab.example.com/group/sub/r/-/commit/abc"),
            ),
            (
                "https://codeberg.org/o/r/",
                Some("https://codeberg.org/o/r/commit/abc"),
            ),
            ("/srv/git/r.git", None),
            ("file:///srv/git/r.git", None),
            ("../r", None),
            ("https://github.com/o/r\"><script>", None),
        ];
        for (url, want) in cases {
            let got = RepoLinks::from_url(url).map(|l| l.commit("abc"));
            assert_eq!(got.as_deref(), want, "{url}");
        }
        let gl = RepoLinks::from_url("git@gitlab.com:g/r.git").unwrap();
        assert_eq!(gl.issue("7"), "https://gitlab.com/g/r/-/issues/7");
    }
}
