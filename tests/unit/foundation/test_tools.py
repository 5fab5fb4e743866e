import pytest

from mlopsctl.tools import parse_version, pinned_releases, platform_key


@pytest.mark.parametrize(
    ("output", "version"),
    [
        ("kind v0.24.0 go1.22.6 linux/amd64", (0, 24, 0)),
        ("kind v0.23.0 go1.21.10 darwin/arm64", (0, 23, 0)),
        ("Client Version: v1.32.4-dispatcher\nKustomize Version: v5.5.0", (1, 32, 4)),
        ("v3.19.2+g8766e71", (3, 19, 2)),
        ("no version here", None),
    ],
)
def test_parse_version(output, version):
    assert parse_version(output) == version


def test_kind_0_23_is_older_than_the_networkpolicy_release():
    assert parse_version("kind v0.23.0") < (0, 24, 0) <= parse_version("kind v0.24.0")


@pytest.mark.parametrize(
    ("system", "machine", "key"),
    [("Linux", "x86_64", "linux/amd64"), ("Darwin", "arm64", "darwin/arm64"), ("Linux", "aarch64", "linux/arm64")],
)
def test_platform_key(system, machine, key):
    assert platform_key(system, machine) == key


def test_every_supported_platform_pins_all_three_tools_with_a_sha256():
    for platform in ("linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64"):
        releases = pinned_releases(platform)
        assert sorted(release.name for release in releases) == ["helm", "kind", "kubectl"]
        for release in releases:
            assert len(release.sha256) == 64 and int(release.sha256, 16) >= 0
            assert release.url.startswith("https://")


def test_helm_is_extracted_from_its_archive():
    (helm,) = [r for r in pinned_releases("linux/amd64") if r.name == "helm"]
    assert helm.url.endswith("linux-amd64.tar.gz")
    assert helm.archive_member == "linux-amd64/helm"


def test_a_mirror_keeps_the_original_paths():
    (kubectl,) = [r for r in pinned_releases("linux/amd64", "http://127.0.0.1:8000/") if r.name == "kubectl"]
    assert kubectl.url == "http://127.0.0.1:8000/release/v1.34.1/bin/linux/amd64/kubectl"


def test_unsupported_platform_has_no_releases():
    assert pinned_releases("plan9/mips") == []
