"""Apply the automations defined in ``deployments/automations/*.yaml`` to the Prefect server in
``PREFECT_API_URL``: each file is one automation; an action's ``block`` (a notification block
name) is resolved to its id. Applying again replaces the automation of the same name."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import yaml

AUTOMATIONS = Path(__file__).resolve().parents[2] / "deployments" / "automations"
OPS_BLOCK = "arrears-ops-webhook"


def save_webhook_block(url: str, name: str = OPS_BLOCK) -> UUID:
    """A webhook notification block posting ``{"text": subject + body}`` to ``url``."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock  # noqa: PLC0415 - Prefect: only when applying

    block = CustomWebhookNotificationBlock(
        name=name, url=url, method="POST", json_data={"text": "{{subject}}\n{{body}}"}, allow_private_urls=True
    )
    return block.save(name, overwrite=True)


def _block_id(name: str) -> UUID:
    from prefect.client.orchestration import get_client  # noqa: PLC0415 - Prefect: only when applying

    with get_client(sync_client=True) as client:
        for doc in client.read_block_documents():
            if doc.name == name:
                return doc.id
    raise LookupError(f"no notification block named {name!r}: create it (arrears automations apply --webhook-url URL)")


def load_spec(path: Path) -> dict[str, Any]:
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    for action in spec.get("actions", []):
        if "block" in action:
            action["block_document_id"] = str(_block_id(action.pop("block")))
    return spec


def apply_automations(folder: Path = AUTOMATIONS) -> list[UUID]:
    from prefect.automations import Automation  # noqa: PLC0415 - Prefect: only when applying

    ids = []
    for path in sorted(folder.glob("*.yaml")):
        automation = Automation.model_validate(load_spec(path))
        try:
            Automation.read(name=automation.name).delete()
        except ValueError:
            pass  # not there yet
        ids.append(automation.create().id)
    return ids
