"""The token bench's own parts (`bench.token_flow`, `bench.token_bench`, `bench/token.lua`): the relying party's
checks of a `/token` answer, and wrk sending every pre-made body exactly once, against a real HTTP server."""

from __future__ import annotations

import hashlib
import shutil
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from bench.token_bench import Run, _counted, _wrk
from bench.token_flow import ISSUER, SUBJECT_PREFIX, Grant, RelyingParty, b64url, token_answer_problems
from bench.wrk import WrkResult

OP_KEY = ec.generate_private_key(ec.SECP256R1())
JWKS = {"keys": [{**jwt.algorithms.ECAlgorithm.to_jwk(OP_KEY.public_key(), as_dict=True), "kid": "op-1"}]}


def answer(rp: RelyingParty, nonce: str, **changes: Any) -> dict[str, Any]:
    """A token answer as identity gives it, signed with the OP's key; `changes` alter the ID token's claims (None
    removes one), `kid`/`key` its header and signature."""
    access_token = "at-" + "x" * 40
    digest = hashlib.sha256(access_token.encode()).digest()
    now = int(time.time())
    claims = {
        "iss": ISSUER, "aud": rp.client_id, "sub": SUBJECT_PREFIX + "abc", "iat": now, "exp": now + 120,
        "nonce": nonce, "vot": "Cl.Cm", "sid": "s1", "at_hash": b64url(digest[:16]),
    }  # fmt: skip
    kid, key = changes.pop("kid", "op-1"), changes.pop("key", OP_KEY)
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    token = jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid})
    return {"access_token": access_token, "token_type": "Bearer", "expires_in": 180, "id_token": token}


def problems(rp: RelyingParty, body: Any, status: int = 200, nonce: str = "n-1") -> list[str]:
    return token_answer_problems(status, body, rp=rp, nonce=nonce, jwks=JWKS, now=time.time())


def test_a_good_answer_passes_and_each_wrong_one_is_named() -> None:
    rp = RelyingParty(client_id="client-1")
    assert problems(rp, answer(rp, "n-1")) == []
    assert problems(rp, {"error": "invalid_grant"}, status=400) == ["answered 400: {'error': 'invalid_grant'}"]
    assert problems(rp, {"token_type": "Bearer"}) == ["no access_token", "no id_token"]
    assert problems(rp, answer(rp, "n-2")) == ["the ID token's nonce is not the request's"]
    assert problems(rp, answer(rp, "n-1", kid="other")) == ["the ID token's kid 'other' is not in the JWKS"]
    forged = problems(rp, answer(rp, "n-1", key=ec.generate_private_key(ec.SECP256R1())))
    assert forged == ["the ID token does not verify: Signature verification failed"]
    assert problems(rp, answer(rp, "n-1", aud="client-2"))[0].startswith("the ID token does not verify")
    assert problems(rp, answer(rp, "n-1", iss="https://elsewhere.invalid/"))[0].startswith("the ID token does not")
    assert problems(rp, answer(rp, "n-1", exp=int(time.time()) - 60))[0].startswith("the ID token does not verify")
    assert problems(rp, answer(rp, "n-1", sub="plain"))[0].endswith("is not a pairwise subject")
    assert problems(rp, answer(rp, "n-1", vot=None)) == ["the ID token has no vot"]
    assert problems(rp, answer(rp, "n-1", at_hash="AAAA")) == ["the ID token's at_hash is not the access token's"]


def unverified(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def test_token_bodies_carry_a_fresh_assertion_each() -> None:
    rp = RelyingParty(client_id="client-1")
    query, state, nonce, verifier = rp.authorize_query(prompt="none")
    params = {k: v[0] for k, v in parse_qs(query).items()}
    assert params["code_challenge"] == b64url(hashlib.sha256(verifier.encode()).digest())
    assert (params["state"], params["nonce"], params["prompt"]) == (state, nonce, "none")
    assert rp.code_from(f"{rp.redirect_uri}?code=c1&state={state}", state) == "c1"
    assert rp.code_from(f"{rp.redirect_uri}?code=c1&state=other", state) is None
    assert rp.code_from(f"{rp.redirect_uri}?error=login_required&state={state}", state) is None
    first, second = (parse_qs(rp.token_body("c1", verifier)) for _ in range(2))
    assertions = [unverified(body["client_assertion"][0]) for body in (first, second)]
    assert assertions[0]["jti"] != assertions[1]["jti"]
    assert assertions[0]["aud"] == ISSUER + "token" and assertions[0]["sub"] == "client-1"
    assert first["code_verifier"] == [verifier] and first["grant_type"] == ["authorization_code"]


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # kept-alive connections, as wrk's to the gateway
    disable_nagle_algorithm = True
    bodies: Counter[str] = Counter()
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        with self.lock:
            self.bodies[body] += 1
        self._answer()

    def do_GET(self) -> None:
        self._answer()

    def _answer(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_args: Any) -> None:
        pass


class QuietServer(ThreadingHTTPServer):
    """wrk resets its connections when its run ends: not an error worth a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture
def server() -> Iterator[str]:
    Recorder.bodies = Counter()
    httpd = QuietServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (make bench installs it)")
def test_wrk_sends_each_body_once_and_says_when_it_ran_out(server: str, tmp_path: Path) -> None:
    import argparse

    grants = [Grant(code=f"c{i}", verifier="v", nonce="n", body=f"code=c{i}&n={i}") for i in range(301)]
    args = argparse.Namespace(threads=2, connections=4)
    run = _wrk(server + "/token", grants, tmp_path / "bodies", args, 2.0)
    assert (run.bodies, run.sent, run.exhausted_threads) == (301, 301, 2)
    assert run.cut_short
    assert set(Recorder.bodies) == {g.body for g in grants}
    assert set(Recorder.bodies.values()) == {1}
    assert run.result.error_count == 0
    assert not list((tmp_path / "bodies").glob("*.txt"))  # the bodies (client assertions) are not kept


def test_a_run_is_clean_when_identity_redeemed_what_wrk_counted() -> None:
    result = WrkResult("wrk", 64, 2, 1000, 10_000_000, 1, 1, 1, 1, 1.0, {"status": 0}, "")
    assert _counted(Run(result, 1500, 1040, 0, redeemed=1030), connections=64)
    assert not _counted(Run(result, 1500, 1040, 0, redeemed=990), connections=64)
    assert not _counted(Run(result, 1500, 1200, 0, redeemed=1100), connections=64)
    failed = WrkResult("wrk", 64, 2, 1000, 10_000_000, 1, 1, 1, 1, 1.0, {"status": 3}, "")
    assert not _counted(Run(failed, 1500, 1040, 0, redeemed=1000), connections=64)
