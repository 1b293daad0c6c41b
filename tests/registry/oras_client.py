"""What another OCI tool does with gavel's registry artifacts, through oras-py.

    oras_client.py pull  REGISTRY REPO:TAG OUTDIR    -> JSON: manifest, config, files
    oras_client.py push  REGISTRY REPO:TAG FILE LAYER_MEDIA_TYPE CONFIG_MEDIA_TYPE

The registry is plain HTTP on 127.0.0.1 (insecure=True), as in the tests.
"""

import json
import os
import sys

import oras.client


def main() -> None:
    command, registry, target = sys.argv[1], sys.argv[2], sys.argv[3]
    user, password = os.environ.get("ORAS_USER"), os.environ.get("ORAS_PASSWORD")
    # Basic auth (what an htpasswd registry asks for) rather than tokens.
    backend = "basic" if user else "token"
    client = oras.client.OrasClient(hostname=registry, insecure=True, auth_backend=backend)
    if user:
        client.auth.set_basic_auth(user, password)
    full = f"{registry}/{target}"
    if command == "pull":
        outdir = sys.argv[4]
        manifest = client.get_manifest(full)
        files = client.pull(target=full, outdir=outdir)
        container = client.get_container(full)
        config = client.get_blob(container, manifest["config"]["digest"]).json()
        print(json.dumps({"manifest": manifest, "config": config, "files": files}))
    elif command == "push":
        path, layer_type, config_type = sys.argv[4], sys.argv[5], sys.argv[6]
        config_path = path + ".config.json"
        with open(config_path, "w") as f:
            json.dump({"architecture": "wasm", "os": "wasip2"}, f)
        os.chdir(os.path.dirname(os.path.abspath(path)))
        client.push(
            target=full,
            files=[f"{os.path.basename(path)}:{layer_type}"],
            manifest_config=f"{os.path.basename(config_path)}:{config_type}",
            disable_path_validation=True,
        )
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
