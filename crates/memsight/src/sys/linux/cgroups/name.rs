//! Human names for cgroup paths, from the conventions of systemd, docker, containerd, CRI-O,
//! podman and Kubernetes (both of the kubelet's cgroup drivers). Pure: no I/O.

/// The human name of the cgroup at `path` (such as `/system.slice/sshd.service`), or `None`
/// when no convention applies to it.
pub(crate) fn human_name(path: &str) -> Option<String> {
    let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let last = *components.last()?;
    if let Some(name) = container(last) {
        return Some(name);
    }
    let in_kubepods = components
        .first()
        .is_some_and(|c| *c == "kubepods" || *c == "kubepods.slice");
    if in_kubepods && let Some(name) = kubernetes(&components) {
        return Some(name);
    }
    if components.len() >= 2
        && (components[components.len() - 2] == "docker" || in_kubepods)
        && is_container_id(last)
    {
        let runtime = if in_kubepods { "container" } else { "docker" };
        return Some(format!("{runtime} {}", short_id(last)));
    }
    systemd_unit(last).then(|| last.to_owned())
}

/// A container runtime's systemd scope: `docker-<id>.scope`, `cri-containerd-<id>.scope`,
/// `crio-<id>.scope`, `libpod-<id>.scope`.
fn container(component: &str) -> Option<String> {
    let stem = component.strip_suffix(".scope")?;
    let (runtime, id) = [
        ("cri-containerd-", "containerd"),
        ("docker-", "docker"),
        ("crio-", "cri-o"),
        ("libpod-", "podman"),
    ]
    .into_iter()
    .find_map(|(prefix, runtime)| stem.strip_prefix(prefix).map(|id| (runtime, id)))?;
    is_container_id(id).then(|| format!("{runtime} {}", short_id(id)))
}

/// A container id: 64 lowercase hex digits (docker, containerd, CRI-O all use them).
fn is_container_id(id: &str) -> bool {
    id.len() == 64
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The 12-digit short form `docker ps` shows.
fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// Kubernetes: `kubepods[.slice]`, the QoS classes `burstable` and `besteffort` (guaranteed pods
/// sit directly under kubepods), and the pods (`pod<uid>`, systemd driver
/// `kubepods-burstable-pod<uid_with_underscores>.slice`).
fn kubernetes(components: &[&str]) -> Option<String> {
    let last = *components.last()?;
    let stem = last.strip_suffix(".slice").unwrap_or(last);
    if components.len() == 1 {
        return Some("kubepods".to_owned());
    }
    let stem = stem.strip_prefix("kubepods-").unwrap_or(stem);
    match stem {
        "burstable" | "besteffort" => return Some(format!("kubepods {stem}")),
        _ => {}
    }
    let (qos, pod) = match stem.split_once("-pod") {
        Some((qos @ ("burstable" | "besteffort"), uid)) => (qos, uid),
        _ => match (stem.strip_prefix("pod"), components.len()) {
            (Some(uid), 2) => ("guaranteed", uid),
            (Some(uid), _) => (components[1].trim_end_matches(".slice"), uid),
            (None, _) => return None,
        },
    };
    let uid = pod.replace('_', "-");
    let valid = uid.len() == 36 && uid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    let qos = qos.strip_prefix("kubepods-").unwrap_or(qos);
    valid.then(|| format!("pod {uid} ({qos})"))
}

/// A systemd unit name: `*.service`, `*.slice`, `*.scope`, `*.socket`, `*.mount`, `*.swap`.
fn systemd_unit(component: &str) -> bool {
    [".service", ".slice", ".scope", ".socket", ".mount", ".swap"]
        .iter()
        .any(|suffix| component.len() > suffix.len() && component.ends_with(suffix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ID: &str = "4f3c1a2b9d8e7f60112233445566778899aabbccddeeff00112233445566aabb";
    const UID: &str = "8a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9";

    #[test]
    fn systemd_units_and_slices() {
        assert_eq!(
            human_name("/system.slice/sshd.service").as_deref(),
            Some("sshd.service")
        );
        assert_eq!(
            human_name("/user.slice/user-1000.slice").as_deref(),
            Some("user-1000.slice")
        );
        assert_eq!(human_name("/"), None);
        assert_eq!(human_name("/process_api/abc"), None);
    }

    #[test]
    fn containers() {
        assert_eq!(
            human_name(&format!("/system.slice/docker-{ID}.scope")).as_deref(),
            Some("docker 4f3c1a2b9d8e")
        );
        assert_eq!(
            human_name(&format!("/docker/{ID}")).as_deref(),
            Some("docker 4f3c1a2b9d8e")
        );
        assert_eq!(
            human_name(&format!("/system.slice/libpod-{ID}.scope")).as_deref(),
            Some("podman 4f3c1a2b9d8e")
        );
        assert_eq!(
            human_name("/system.slice/docker-short.scope").as_deref(),
            Some("docker-short.scope")
        );
    }

    #[test]
    fn kubernetes_systemd_driver() {
        let pod = UID.replace('-', "_");
        assert_eq!(human_name("/kubepods.slice").as_deref(), Some("kubepods"));
        assert_eq!(
            human_name("/kubepods.slice/kubepods-burstable.slice").as_deref(),
            Some("kubepods burstable")
        );
        assert_eq!(
            human_name(&format!(
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{pod}.slice"
            ))
            .as_deref(),
            Some(format!("pod {UID} (burstable)").as_str())
        );
        assert_eq!(
            human_name(&format!("/kubepods.slice/kubepods-pod{pod}.slice")).as_deref(),
            Some(format!("pod {UID} (guaranteed)").as_str())
        );
        assert_eq!(
            human_name(&format!(
                "/kubepods.slice/kubepods-pod{pod}.slice/cri-containerd-{ID}.scope"
            ))
            .as_deref(),
            Some("containerd 4f3c1a2b9d8e")
        );
    }

    #[test]
    fn kubernetes_cgroupfs_driver() {
        assert_eq!(
            human_name("/kubepods/besteffort").as_deref(),
            Some("kubepods besteffort")
        );
        assert_eq!(
            human_name(&format!("/kubepods/besteffort/pod{UID}")).as_deref(),
            Some(format!("pod {UID} (besteffort)").as_str())
        );
        assert_eq!(
            human_name(&format!("/kubepods/pod{UID}")).as_deref(),
            Some(format!("pod {UID} (guaranteed)").as_str())
        );
        assert_eq!(
            human_name(&format!("/kubepods/pod{UID}/{ID}")).as_deref(),
            Some("container 4f3c1a2b9d8e")
        );
        assert_eq!(human_name("/kubepods/podnotauid"), None);
    }

    proptest! {
        #[test]
        fn never_panic(path in "\\PC*") {
            let _ = human_name(&path);
        }
    }
}
