"""A fake police case system and a fake court case system, for tests, the demo and a local
stack: each sends referrals in to the external-systems API (docs/api/external-systems.yaml),
signed with its own secret, and runs a real HTTP server on loopback that receives the results
Liandiao sends back by webhook, checks their signature and freshness, drops a repeated
Idempotency-Key as a real receiver must, and records what it heard.

    police = FakeSystem("police-1505", "police", adapter_url).start()
    reply = police.refer(body)                 # POST /v1/police/referrals, signed
    police.wait_for(lambda r: r["result"]["kind"] == "agreement_effective")
    police.stop()

Secrets: the development ones (services.intake.external.systems.development_secret) for the
referrals it signs, and ``webhook_secret`` (the one notification's LIANDIAO_WEBHOOKS_FILE holds
for this system) for the webhooks it checks; ``webhooks_entry`` writes that receiver's entry."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from liandiao import hmacsig
from liandiao.common.v1 import common_pb2 as c
from liandiao.intake.v1 import intake_pb2 as i

PATHS = {"police": "/v1/police/referrals", "delegation": "/v1/court/delegations",
         "commission": "/v1/court/commissions"}


def development_secret(system_id: str) -> bytes:
    """The same derivation as the adapter's (services.intake.external.systems): a fake system
    knows only what a real one would be given, its own secret."""
    return hashlib.sha256(b"liandiao-development-external-system:" + system_id.encode()).digest()


def webhook_secret(system_id: str) -> bytes:
    """The secret notification signs this system's webhooks with (another one than its own)."""
    return hashlib.sha256(b"liandiao-development-webhook:" + system_id.encode()).digest()


def webhooks_entry(system_id: str, url: str) -> str:
    """The [[receiver]] entry of notification's LIANDIAO_WEBHOOKS_FILE for this system."""
    secret = base64.b64encode(webhook_secret(system_id)).decode()
    return f'[[receiver]]\norganization_id = "{system_id}"\nurl = "{url}"\nsecret = "{secret}"\n'


@dataclass
class Heard:
    """What a fake system's webhook receiver has seen."""
    results: list[dict[str, Any]] = field(default_factory=list)   # verified, one per Idempotency-Key
    repeats: int = 0          # a key seen before: answered 200, not applied again
    refused: int = 0          # a bad signature or an old timestamp: answered 401
    keys: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Receiver(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args) -> None:
        pass

    def _reply(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        system, heard = self.server.system, self.server.system.heard
        headers = {k: v for k, v in self.headers.items()}
        if not hmacsig.verify(webhook_secret(system.system_id), _exact(headers), body, time.time()):
            with heard.lock:
                heard.refused += 1
            self._reply(401)
            return
        key = self.headers.get(hmacsig.IDEMPOTENCY, "")
        with heard.lock:
            if key in heard.keys:
                heard.repeats += 1
            else:
                heard.keys.add(key)
                heard.results.append(json.loads(body))
        self._reply(200)


def _exact(headers: dict[str, str]) -> dict[str, str]:
    """http.server keeps the sender's spelling of header names: look them up by ours."""
    lower = {k.lower(): v for k, v in headers.items()}
    return {name: lower.get(name.lower(), "") for name in (hmacsig.TIMESTAMP, hmacsig.SIGNATURE, hmacsig.IDEMPOTENCY)}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    system: FakeSystem


class FakeSystem:
    """A court or police case system: refers disputes in, hears results back."""

    def __init__(self, system_id: str, kind: str, adapter_url: str, *, host: str = "127.0.0.1", port: int = 0,
                 secret: bytes | None = None, verify: str | bool = True, cert: tuple[str, str] | None = None):
        self.system_id, self.kind, self.adapter_url = system_id, kind, adapter_url.rstrip("/")
        self.secret = secret if secret is not None else development_secret(system_id)
        self.heard = Heard()
        self._server = _Server((host, port), _Receiver)
        self._server.system = self
        self._thread: threading.Thread | None = None
        self.client = httpx.Client(timeout=30, verify=verify, cert=cert)

    @property
    def webhook_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/results" if isinstance(host, str) else f"http://127.0.0.1:{port}/results"

    def start(self) -> FakeSystem:
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"fake-{self.system_id}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:   # shutdown() waits for serve_forever: only when it was started
            self._server.shutdown()
            self._thread = None
        self._server.server_close()
        self.client.close()

    # ---- sending referrals ------------------------------------------------------------
    def signed_headers(self, raw: bytes, *, timestamp: int | None = None, secret: bytes | None = None) -> dict[str, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        return {"Content-Type": "application/json", hmacsig.SYSTEM: self.system_id, hmacsig.TIMESTAMP: stamp,
                hmacsig.SIGNATURE: hmacsig.sign(self.secret if secret is None else secret, stamp, raw)}

    def post(self, what: str, raw: bytes, headers: dict[str, str]) -> httpx.Response:
        return self.client.post(self.adapter_url + PATHS[what], content=raw, headers=headers)

    def refer(self, body: dict[str, Any], what: str | None = None, **signing: Any) -> httpx.Response:
        """POST the referral, signed afresh (each attempt has its own signature)."""
        raw = json.dumps(body, ensure_ascii=False).encode()
        return self.post(what or ("police" if self.kind == "police" else "delegation"), raw,
                         self.signed_headers(raw, **signing))

    def refer_until_answered(self, body: dict[str, Any], what: str | None = None,
                             give_up_after: float = 60.0) -> httpx.Response:
        """What a real system does: retry, signed afresh, while the platform is not ready (503)."""
        deadline = time.monotonic() + give_up_after
        while True:
            reply = self.refer(body, what)
            if reply.status_code != 503 or time.monotonic() > deadline:
                return reply
            time.sleep(0.5)

    # ---- what came back -----------------------------------------------------------------
    def results(self, kind: str | None = None, dispute_id: str | None = None) -> list[dict[str, Any]]:
        with self.heard.lock:
            found = list(self.heard.results)
        return [r for r in found if (kind is None or r.get("result", {}).get("kind") == kind)
                and (dispute_id is None or r.get("dispute_id") == dispute_id)]

    def wait_for(self, kind: str, dispute_id: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.results(kind, dispute_id)
            if found:
                return found[0]
            time.sleep(0.2)
        raise TimeoutError(f"{self.system_id} heard no {kind!r} for {dispute_id} within {timeout}s "
                           f"(heard: {[(r.get('result', {}).get('kind'), r.get('dispute_id')) for r in self.results()]})")


# ---- a referral's body from the demo's registrations ------------------------------------------

def _name(enum: Any, number: int, prefix: str, renames: dict[str, str] | None = None) -> str:
    word = enum.Name(number).removeprefix(prefix).lower()
    return (renames or {}).get(word, word)


def _document(d: i.IdDocument) -> dict[str, str]:
    return {"type": _name(i.IdDocumentType, d.type, "ID_DOCUMENT_TYPE_"), "number": d.number}


def _party(p: i.PartyInput) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": _name(c.PartyKind, p.kind, "PARTY_KIND_", {"natural_person": "person"}),
                           "side": _name(c.PartySide, p.side, "PARTY_SIDE_"), "name": p.name}
    if p.sex:
        out["sex"] = _name(i.Sex, p.sex, "SEX_")
    for key in ("ethnicity", "occupation", "phone", "address", "no_id_reason", "credit_code", "language"):
        if getattr(p, key):
            out[key] = getattr(p, key)
    if p.age:
        out["age"] = p.age
    if p.HasField("id_document"):
        out["id_document"] = _document(p.id_document)
    if p.HasField("consent"):
        out["consent"] = {"decision": _name(i.ConsentDecision, p.consent.decision, "CONSENT_DECISION_"),
                          "routes_told": list(p.consent.routes_told)}
        if p.consent.HasField("disclosed_at"):
            out["consent"]["disclosed_at"] = p.consent.disclosed_at.ToJsonString()
    return out


def referral_body(req: i.RegisterDisputeRequest, *, reference: str | None = None,
                  organization_id: str | None = None) -> dict[str, Any]:
    """The JSON a case system would send for the registration the demo data describes
    (liandiao.devtools.province.dispute_request), as the OpenAPI file has it."""
    body: dict[str, Any] = {
        "region_code": req.region_code, "dispute_type": req.dispute_type, "facts": req.facts,
        "requested_outcome": req.requested_outcome, "amount_in_dispute_fen": req.amount_in_dispute_fen,
        "parties": [_party(p) for p in req.parties],
        "risk_factors": {"threats_of_violence": req.risk_factors.threats_of_violence,
                         "prior_incidents": req.risk_factors.prior_incidents,
                         "people_involved": req.risk_factors.people_involved},
    }
    if req.WhichOneof("referral") == "police":
        body |= {"reference": reference or req.police.incident_reference,
                 "station_org_id": organization_id or req.police.station_org_id,
                 "officer_person_id": req.police.officer_person_id or "officer-1"}
    else:
        body |= {"reference": reference or req.court.court_case_reference or f"REF-{uuid.uuid4().hex[:10]}",
                 "court_org_id": organization_id or req.court.court_org_id}
    return body



# ---- the adapter and both fake systems on a local stack (make demo, the end-to-end tests) ------

class LocalSystems:
    """A fake police system and a fake court system, and the external-systems adapter as a
    process (python -m services.intake.external) in front of a LocalServices' intake.

    ``prepare`` starts the two receivers first and writes notification's webhooks file, which
    notification must be started with (LIANDIAO_WEBHOOKS_FILE); ``start`` writes the systems
    file for the organizations the province has and starts the adapter."""

    def __init__(self, folder: Path, port: int, police_id: str = "police-demo-platform",
                 court_id: str = "court-demo-platform"):
        self.folder, self.port = folder, port
        self.url = f"http://127.0.0.1:{port}"
        self.police = FakeSystem(police_id, "police", self.url)
        self.court = FakeSystem(court_id, "court", self.url)
        self.proc: subprocess.Popen | None = None
        self.log: Path = folder / "external-systems.log"
        self.retries_same = 0           # retried police referrals answered with the first dispute
        self.refused: list[str] = []    # referrals the adapter refused (none expected)

    @property
    def webhooks_file(self) -> Path:
        return self.folder / "webhooks.toml"

    def prepare(self) -> LocalSystems:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.police.start()
        self.court.start()
        self.webhooks_file.write_text(webhooks_entry(self.police.system_id, self.police.webhook_url)
                                      + webhooks_entry(self.court.system_id, self.court.webhook_url), "utf-8")
        return self

    def start(self, local: Any, stations: list[str], courts: list[str], regions: list[str]) -> None:
        """``local``: the running LocalServices (its env, intake's address and TLS folder)."""
        from liandiao.devtools import certs
        from services.intake.external.systems import development_entry  # the adapter's own file format

        systems = self.folder / "systems.toml"
        systems.write_text(development_entry(self.police.system_id, "police", stations, regions, "公安警务平台（演示）")
                           + development_entry(self.court.system_id, "court", courts, regions, "法院案件平台（演示）"),
                           "utf-8")
        repo = Path(__file__).resolve().parents[3]
        env = {**os.environ, "LIANDIAO_ENV": "development", **local.env, "PYTHONPATH": f"{repo / 'libs'}:{repo}",
               "LIANDIAO_EXTERNAL_SYSTEMS_FILE": str(systems), "LIANDIAO_INTAKE_ADDRESS": local.address("intake"),
               "LIANDIAO_HTTP_PORT": str(self.port), "LIANDIAO_METRICS_PORT": "0"}
        if local.tls is not None:
            # Its own certificate: intake checks that a service token comes over its service's certificate.
            env |= certs.grpc_env(local.tls, "external-systems", mutual=False)
            env["LIANDIAO_DATABASE_URL"] = certs.database_url_tls(local.env["LIANDIAO_DATABASE_URL"], local.tls)
        self.proc = subprocess.Popen([sys.executable, "-m", "services.intake.external"], cwd=repo, env=env,
                                     stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"the external-systems adapter exited ({self.proc.returncode}); see {self.log}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"the external-systems adapter was not ready within {timeout}s; see {self.log}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.police.stop()
        self.court.stop()

    def refer_some(self, prov: Any, rng: Any, each: int) -> list[str]:
        """``each`` police referrals and ``each`` court delegations of the demo province, sent by
        the fake systems (a retry of every police referral too: it must not make a second dispute);
        the dispute ids answered."""
        from liandiao.devtools import province

        ids = []
        for source, system, what in ((c.CASE_SOURCE_POLICE_REFERRAL, self.police, "police"),
                                     (c.CASE_SOURCE_COURT_DELEGATION, self.court, "delegation")):
            for _ in range(each):
                body = referral_body(province.dispute_request(rng, prov, source=source),
                                     reference=f"{what.upper()}-{uuid.uuid4().hex[:10]}")
                reply = system.refer_until_answered(body, what)
                if reply.status_code == 200:
                    ids.append(reply.json()["dispute_id"])
                    if what == "police":
                        time.sleep(1.0)   # a retry is signed afresh, in a later second
                        again = system.refer_until_answered(body, what)
                        self.retries_same += int(again.status_code == 200 and
                                                 again.json()["dispute_id"] == ids[-1])
                else:
                    self.refused.append(f"{reply.status_code} {reply.text[:200]}")
        return ids

    def heard_lines(self) -> list[str]:
        lines = []
        for system in (self.police, self.court):
            # A message without a result kind (e.g. a court told of an application) is named by its template.
            kinds = Counter(r.get("result", {}).get("kind") or r.get("template", "?") for r in system.results())
            told = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) or "nothing"
            lines.append(f"  {system.system_id}: heard {told} (repeats dropped {system.heard.repeats}, "
                         f"bad signatures {system.heard.refused})")
        return lines
