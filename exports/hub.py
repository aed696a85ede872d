"""Publishing a release's Hugging Face folder to the hub. Thin on purpose: huggingface_hub does the work.

Needs a token with write access in HF_TOKEN (or a prior `huggingface-cli login`).
"""

import os
from pathlib import Path

from .hf_dataset import HF_DIR


class HubError(Exception):
    pass


def push_to_hub(release: Path, repo_id: str, *, private: bool = True) -> str:
    """Upload `<release>/hf` (parquet, card, charts, videos) as dataset repo `repo_id`; return its URL."""
    from huggingface_hub import HfApi, get_token
    from huggingface_hub.utils import HfHubHTTPError

    token = os.environ.get("HF_TOKEN") or get_token()
    if not token:
        raise HubError("no Hugging Face token: set HF_TOKEN (a token with write access)")
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        commit = api.upload_folder(repo_id=repo_id, repo_type="dataset", folder_path=Path(release) / HF_DIR,
                                   commit_message=f"Upload {Path(release).name}")
    except HfHubHTTPError as exc:
        raise HubError(f"upload to {repo_id} failed: {exc}") from exc
    return str(getattr(commit, "commit_url", f"https://huggingface.co/datasets/{repo_id}"))
