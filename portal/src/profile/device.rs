//! "Chrome 131 on Windows" from a User-Agent, for the sessions list.

/// A short description of the browser and system a user agent names, or
/// "Unknown device".
pub fn describe(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.filter(|ua| !ua.trim().is_empty()) else {
        return "Unknown device".to_owned();
    };
    match woothee::parser::Parser::new().parse(ua) {
        // Tools and robots: their name says it all.
        Some(r) if matches!(r.category, "misc" | "crawler") && r.name != "UNKNOWN" => r.name.to_owned(),
        Some(r) if r.name != "UNKNOWN" => {
            let major = r.version.split('.').next().unwrap_or_default();
            let browser = if major.is_empty() || major == "UNKNOWN" {
                r.name.to_owned()
            } else {
                format!("{} {major}", r.name)
            };
            if r.os == "UNKNOWN" {
                browser
            } else {
                format!("{browser} on {}", r.os)
            }
        }
        _ => "Unknown device".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_agents_are_named() {
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(describe(Some(chrome)), "Chrome 131 on Windows 10");
        assert_eq!(describe(None), "Unknown device");
        assert_eq!(describe(Some("curl/8.5.0")), "HTTP Library");
        assert_eq!(describe(Some("")), "Unknown device");
        assert_eq!(describe(Some("\u{0}garbage")), "Unknown device");
    }
}
