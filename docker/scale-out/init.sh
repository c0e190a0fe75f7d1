#!/usr/bin/env bash
# One-time setup of the scale-out profile (docker/compose.yaml): Garage layout, bucket and key, then a
# repository made offline and migrated into the bucket, its online keys in docker/scale-out/keys/.
# Run from the repository root with the image built (docker compose -f docker/compose.yaml build).
#   docker/scale-out/init.sh OFFLINE_DIR     OFFLINE_DIR: where the offline keys go (keep it off the servers)
set -euo pipefail
DIR=${1:?usage: $0 OFFLINE_DIR}
C=(docker compose -f docker/compose.yaml --profile scale-out)
"${C[@]}" up -d garage1 garage2 garage3 postgres
g() { "${C[@]}" exec -T garage1 /garage "$@"; }
for n in garage1 garage2 garage3; do
  id=$("${C[@]}" exec -T "$n" /garage node id -q)
  g node connect "$id" || true
  g layout assign -z dc1 -c 1G "${id%%@*}"
done
g layout apply --version 1
g bucket create x0x
key=$(g key create x0x-dist)
g bucket allow --read --write --owner x0x --key x0x-dist
{
  echo "AWS_ACCESS_KEY_ID=$(sed -n 's/^Key ID: *//p' <<<"$key")"
  echo "AWS_SECRET_ACCESS_KEY=$(sed -n 's/^Secret key: *//p' <<<"$key")"
} >docker/scale-out/s3.env
chmod 600 docker/scale-out/s3.env
# The repository: made offline (root and targets keys stay in DIR/keys), copied into the bucket.
x0x() { docker run --rm -v "$PWD/$DIR:/repo" --network "$(basename "$PWD")_default" --env-file docker/scale-out/s3.env \
  -e AWS_REGION=garage x0x-dist:latest "$@"; }
x0x init --repo /repo
x0x migrate --from /repo --to s3://x0x/prod --s3-endpoint http://garage1:3900
mkdir -p docker/scale-out/keys && cp "$DIR"/online/* docker/scale-out/keys/ && chmod 600 docker/scale-out/keys/*.key
echo "ready: ${C[*]} up -d; then http://127.0.0.1:8088/readyz"
