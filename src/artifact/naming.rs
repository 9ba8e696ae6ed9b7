//! Provider naming conventions: release ZIP names (`terraform-provider-NAME_VERSION_OS_ARCH.zip`),
//! executable names (`terraform-provider-NAME[_vVERSION][.exe]`) and tofu's rule for picking the
//! executable inside a package.

/// What a provider release ZIP's file name says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipName {
    pub provider_type: String,
    pub version: String,
    pub os: String,
    pub arch: String,
}

/// Parse `terraform-provider-NAME_VERSION_OS_ARCH.zip` (GoReleaser's default naming).
pub fn parse_zip_name(file_name: &str) -> Option<ZipName> {
    let stem = file_name.strip_suffix(".zip")?;
    let rest = stem.strip_prefix("terraform-provider-")?;
    let mut it = rest.rsplitn(3, '_');
    let arch = it.next()?;
    let os = it.next()?;
    let name_version = it.next()?;
    let (provider_type, version) = name_version.split_once('_')?;
    let valid = |s: &str| !s.is_empty() && !s.contains(['/', '\\']);
    if !(valid(provider_type) && valid(version) && valid(os) && valid(arch)) {
        return None;
    }
    if !version.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some(ZipName {
        provider_type: provider_type.to_string(),
        version: version.to_string(),
        os: os.to_string(),
        arch: arch.to_string(),
    })
}

/// The provider type of an executable name (`terraform-provider-demo_v1.2.3.exe` → `demo`).
pub fn exe_provider_type(file_name: &str) -> Option<&str> {
    let rest = file_name.strip_prefix("terraform-provider-")?;
    let end = rest.find(['_', '.']).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|t| !t.is_empty())
}

/// The version an executable's name carries (`terraform-provider-demo_v1.2.3` → `1.2.3`).
pub fn exe_version(file_name: &str) -> Option<String> {
    let rest = file_name.strip_prefix("terraform-provider-")?;
    let rest = rest.strip_suffix(".exe").unwrap_or(rest);
    let (_, v) = rest.split_once("_v")?;
    v.starts_with(|c: char| c.is_ascii_digit())
        .then(|| v.to_string())
}

/// tofu's rule (`cached_provider.go`, `ExecutableFile`): the file is named
/// `terraform-provider-<type>`, optionally followed by a suffix starting with `_` or `.`.
pub fn is_provider_executable(file_name: &str, provider_type: Option<&str>) -> bool {
    match provider_type {
        Some(t) => {
            let Some(rest) = file_name
                .strip_prefix("terraform-provider-")
                .and_then(|r| r.strip_prefix(t))
            else {
                return false;
            };
            rest.is_empty() || rest.starts_with(['_', '.'])
        }
        None => exe_provider_type(file_name).is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zip_names() {
        let z = parse_zip_name("terraform-provider-demo_1.2.3_linux_amd64.zip").unwrap();
        assert_eq!(
            (
                z.provider_type.as_str(),
                z.version.as_str(),
                z.os.as_str(),
                z.arch.as_str()
            ),
            ("demo", "1.2.3", "linux", "amd64")
        );
        let z = parse_zip_name("terraform-provider-aws_5.0.0-beta1_darwin_arm64.zip").unwrap();
        assert_eq!(z.version, "5.0.0-beta1");
        assert!(parse_zip_name("terraform-provider-demo_linux_amd64.zip").is_none());
        assert!(parse_zip_name("demo_1.0.0_linux_amd64.zip").is_none());
        assert!(parse_zip_name("terraform-provider-demo_1.2.3_linux_amd64.tar.gz").is_none());
    }

    #[test]
    fn executables() {
        assert!(is_provider_executable(
            "terraform-provider-demo_v1.2.3",
            Some("demo")
        ));
        assert!(is_provider_executable(
            "terraform-provider-demo.exe",
            Some("demo")
        ));
        assert!(is_provider_executable(
            "terraform-provider-demo",
            Some("demo")
        ));
        assert!(!is_provider_executable(
            "terraform-provider-demox",
            Some("demo")
        ));
        assert!(!is_provider_executable("README.md", Some("demo")));
        assert!(is_provider_executable("terraform-provider-x_v1", None));
        assert_eq!(
            exe_version("terraform-provider-demo_v1.2.3.exe").as_deref(),
            Some("1.2.3")
        );
        assert_eq!(exe_version("terraform-provider-demo"), None);
        assert_eq!(
            exe_provider_type("terraform-provider-demo_v1.2.3"),
            Some("demo")
        );
    }
}
