"""The Helm chart, rendered and checked without a cluster: lint, strict schema validation of
every object over a matrix of values files, assertions on the manifests, refused bad values,
and a security scan. Run by scripts/test.sh with HELM, KUBERNETES_VALIDATE and CHECKOV set."""

import json
import os
import pathlib
import subprocess

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "taskflow"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
BAD_VALUES = ROOT / "tests" / "chart" / "bad-values"


def tool(name):
    path = os.environ.get(name)
    assert path and pathlib.Path(path).exists(), f"{name} is not set to an installed tool; run scripts/test.sh"
    return path


def helm(*args, check=True):
    result = subprocess.run([tool("HELM"), *args], capture_output=True, text=True)
    if check:
        assert result.returncode == 0, f"helm {' '.join(args)} failed:\n{result.stderr}"
    return result


def render(*values_files, sets=(), namespace="taskflow"):
    args = ["template", "t", str(CHART), "--namespace", namespace]
    for f in values_files:
        args += ["-f", str(f)]
    for s in sets:
        args += ["--set", s]
    text = helm(*args).stdout
    return [d for d in yaml.safe_load_all(text) if d]


def find(objects, kind, name=None):
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert found, f"no {kind} {name or ''} rendered"
    return found[0]


def kinds(objects):
    return sorted(o["kind"] for o in objects)


def container(pod_spec, name):
    for c in pod_spec.get("containers", []) + pod_spec.get("initContainers", []):
        if c["name"] == name:
            return c
    raise AssertionError(f"no container {name}")


def env_of(c):
    return {e["name"]: e for e in c.get("env", [])}


def notes(*values):
    args = ["install", "t", str(CHART), "--dry-run=client", "--namespace", "taskflow"]
    for v in values:
        args += ["-f", str(v)]
    out = helm(*args).stdout
    return out[out.index("NOTES:"):]


# -- lint, render, validate -----------------------------------------------------------------


def test_lint_is_strictly_clean_for_every_values_file():
    helm("lint", "--strict", str(CHART))
    for values in CI_VALUES:
        helm("lint", "--strict", str(CHART), "-f", str(values))


def test_the_values_matrix_covers_what_the_chart_promises():
    names = {v.name for v in CI_VALUES}
    for wanted in [
        "default-values.yaml",
        "minikube-values.yaml",
        "external-database-values.yaml",
        "existing-claims-and-secrets-values.yaml",
        "storageclass-dash-values.yaml",
        "storageclass-empty-values.yaml",
        "storageclass-named-values.yaml",
        "rwx-replicas-values.yaml",
        "backups-values.yaml",
        "metrics-values.yaml",
        "logs-pvc-values.yaml",
        "s3-replicas-hpa-values.yaml",
        "cloudnative-pg-values.yaml",
    ]:
        assert wanted in names, f"ci/{wanted} is missing"


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
def test_every_rendered_object_passes_strict_schema_validation(values, tmp_path):
    rendered = helm("template", "t", str(CHART), "--namespace", "taskflow", "-f", str(values)).stdout
    manifest = tmp_path / "rendered.yaml"
    manifest.write_text(rendered)
    result = subprocess.run(
        [tool("KUBERNETES_VALIDATE"), "--strict", "--quiet", str(manifest)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Only the Prometheus Operator's and CloudNativePG's kinds lack a schema; they are checked
    # below by hand.
    for line in (result.stdout + result.stderr).splitlines():
        if "Couldn't find schema" in line:
            assert "monitoring.coreos.com" in line or "postgresql.cnpg.io" in line, line


# -- the storage guide's StatefulSet --------------------------------------------------------


def test_postgresql_is_a_statefulset_as_the_guide_shows():
    objects = render(sets=["postgresql.database=tracker", "postgresql.user=tracker_app",
                           "postgresql.persistence.size=13Gi", "persistence.accessMode=ReadWriteOncePod",
                           "postgresql.resources.limits.memory=999Mi"])
    sts = find(objects, "StatefulSet", "t-taskflow-postgres")
    headless = find(objects, "Service", "t-taskflow-postgres-headless")
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["selector"] == sts["spec"]["selector"]["matchLabels"]
    assert sts["spec"]["serviceName"] == "t-taskflow-postgres-headless"
    assert sts["spec"]["selector"]["matchLabels"]["app"] == "postgres"
    [claim] = sts["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "postgres-data"
    assert claim["spec"]["resources"]["requests"]["storage"] == "13Gi"
    assert claim["spec"]["accessModes"] == ["ReadWriteOncePod"]
    pod = sts["spec"]["template"]["spec"]
    pg = container(pod, "postgres")
    env = env_of(pg)
    assert env["POSTGRES_DB"]["value"] == "tracker"
    url = env_of(container(find(objects, "Deployment")["spec"]["template"]["spec"], "taskflow"))["TASKFLOW_DATABASE_URL"]
    assert url["value"] == "postgres://tracker_app@t-taskflow-postgres:5432/tracker"
    client = find(objects, "Service", "t-taskflow-postgres")
    assert client["spec"]["selector"] == sts["spec"]["selector"]["matchLabels"]
    assert env["POSTGRES_USER"]["valueFrom"]["secretKeyRef"] == {"name": "t-taskflow-secrets", "key": "db-user"}
    assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "t-taskflow-secrets", "key": "db-password"}
    assert pg["resources"]["limits"]["memory"] == "999Mi"
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"]:
        assert "pg_isready" in " ".join(pg[probe]["exec"]["command"]), probe
    mount = next(m for m in pg["volumeMounts"] if m["name"] == "postgres-data")["mountPath"]
    assert env["PGDATA"]["value"].startswith(mount + "/"), "PGDATA is a subdirectory of the mount"
    assert pod["securityContext"]["fsGroupChangePolicy"] == "OnRootMismatch"
    assert pod["securityContext"]["fsGroup"] == 70
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}


def test_volume_claim_templates_carry_no_labels_that_change_between_versions():
    sts = find(render(), "StatefulSet")
    labels = sts["spec"]["volumeClaimTemplates"][0]["metadata"]["labels"]
    assert "helm.sh/chart" not in labels and "app.kubernetes.io/version" not in labels
    assert labels == {
        "app.kubernetes.io/name": "taskflow",
        "app.kubernetes.io/instance": "t",
        "app.kubernetes.io/component": "database",
        "app": "postgres",
    }
    # And the same with another chart version: the StatefulSet field is immutable.
    assert labels == find(render(sets=["image.tag=9.9.9"]), "StatefulSet")["spec"]["volumeClaimTemplates"][0]["metadata"]["labels"]


@pytest.mark.parametrize(
    "value, expected",
    [("-", ""), ("", None), ("fast-ssd", "fast-ssd")],
    ids=["dash-means-empty", "empty-means-default", "named"],
)
def test_storage_class_values_follow_the_guide(value, expected):
    objects = render(sets=[f"uploads.persistence.storageClass={value}",
                           f"persistence.storageClass={value}",
                           "backup.enabled=true", f"backup.persistence.storageClass={value}",
                           "logs.persistence.enabled=true", f"logs.persistence.storageClass={value}"])
    claims = [o["spec"] for o in objects if o["kind"] == "PersistentVolumeClaim"]
    claims.append(find(objects, "StatefulSet")["spec"]["volumeClaimTemplates"][0]["spec"])
    assert len(claims) == 4
    for spec in claims:
        assert spec.get("storageClassName") == expected, spec
        assert ("storageClassName" in spec) == (expected is not None)


# -- Taskflow's Deployment -----------------------------------------------------------------


def test_the_deployment_keeps_data_on_the_uploads_claim_and_runs_locked_down():
    objects = render(sets=["uploads.persistence.size=33Gi"])
    deploy = find(objects, "Deployment")
    pvc = find(objects, "PersistentVolumeClaim", "t-taskflow-uploads")
    assert pvc["spec"]["resources"]["requests"]["storage"] == "33Gi"
    assert pvc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    pod = deploy["spec"]["template"]["spec"]
    tf = container(pod, "taskflow")
    data = next(v for v in pod["volumes"] if v["name"] == "data")
    assert data["persistentVolumeClaim"]["claimName"] == "t-taskflow-uploads"
    assert {"name": "data", "mountPath": "/data"} in tf["volumeMounts"]
    assert deploy["spec"]["strategy"]["type"] == "Recreate"
    assert tf["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert tf["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert tf["startupProbe"]["httpGet"]["path"] == "/healthz"
    sc = tf["securityContext"]
    assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"]
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["fsGroupChangePolicy"] == "OnRootMismatch"
    # Settings only through the TASKFLOW_* contract; secrets only through _FILE.
    env = env_of(tf)
    assert all(name.startswith("TASKFLOW_") for name in env), sorted(env)
    assert all("valueFrom" not in e for e in env.values()), "secrets come from files, not variables"
    assert env["TASKFLOW_DATABASE_PASSWORD_FILE"]["value"] == "/run/secrets/taskflow/database-password"
    assert env["TASKFLOW_ADMIN_PASSWORD_FILE"]["value"] == "/run/secrets/taskflow/admin-password"
    assert env["TASKFLOW_DATABASE_URL"]["value"] == "postgres://taskflow@t-taskflow-postgres:5432/taskflow"
    assert ":" not in env["TASKFLOW_DATABASE_URL"]["value"].split("@")[0].split("//")[1], "no password in the URL"
    assert env["TASKFLOW_DATA_DIR"]["value"] == "/data"
    secret = find(objects, "Secret")
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert {"db-password", "db-user", "admin-password"} <= set(secret["data"])
    assert "initContainers" not in pod, "the permissions init container is off by default"


def test_behind_the_ingress_forwarded_addresses_are_trusted_from_the_cluster_only():
    def proxies(*sets):
        deploy = find(render(sets=sets), "Deployment")
        env = env_of(container(deploy["spec"]["template"]["spec"], "taskflow"))
        return env.get("TASKFLOW_TRUSTED_PROXIES", {}).get("value")

    assert proxies() is None, "without an ingress X-Forwarded-For is ignored"
    assert proxies("ingress.enabled=true") == "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,fc00::/7"
    assert proxies("ingress.enabled=true", "taskflow.trustedProxies=10.244.0.0/16") == "10.244.0.0/16"
    assert proxies("taskflow.trustedProxies=192.0.2.7") == "192.0.2.7"


def test_several_replicas_need_read_write_many_uploads():
    result = helm("template", "t", str(CHART), "--set", "replicaCount=2", check=False)
    assert result.returncode != 0
    assert "at '/uploads/persistence/accessMode': value must be 'ReadWriteMany'" in result.stderr
    # …or attachments in object storage.
    assert find(render(sets=["replicaCount=2", "blobs.s3.bucket=taskflow"]), "Deployment")["spec"]["replicas"] == 2
    deploy = find(render(CHART / "ci" / "rwx-replicas-values.yaml"), "Deployment")
    assert deploy["spec"]["replicas"] == 3
    assert deploy["spec"]["strategy"]["type"] == "RollingUpdate"


def test_existing_claims_and_secrets_are_used_and_not_created():
    objects = render(CHART / "ci" / "existing-claims-and-secrets-values.yaml")
    pvcs = [o["metadata"]["name"] for o in objects if o["kind"] == "PersistentVolumeClaim"]
    assert pvcs == [], pvcs
    assert not [o for o in objects if o["kind"] == "Secret"], "every secret exists already"
    deploy = find(objects, "Deployment")
    volumes = {v["name"]: v for v in deploy["spec"]["template"]["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == "taskflow-uploads-restored"
    assert volumes["backups"]["persistentVolumeClaim"]["claimName"] == "taskflow-backups-archive"
    sources = {s["secret"]["name"]: s["secret"]["items"][0]["key"] for s in volumes["secrets"]["projected"]["sources"]}
    assert sources == {"taskflow-postgres": "password", "taskflow-admin": "password"}
    pg_env = env_of(container(find(objects, "StatefulSet")["spec"]["template"]["spec"], "postgres"))
    assert pg_env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "taskflow-postgres", "key": "password"}
    assert pg_env["POSTGRES_USER"]["valueFrom"]["secretKeyRef"] == {"name": "taskflow-postgres", "key": "username"}


def test_an_external_database_replaces_the_statefulset():
    objects = render(CHART / "ci" / "external-database-values.yaml")
    assert "StatefulSet" not in kinds(objects)
    tf = container(find(objects, "Deployment")["spec"]["template"]["spec"], "taskflow")
    assert env_of(tf)["TASKFLOW_DATABASE_URL"]["value"] == (
        "postgres://taskflow@taskflow-db-rw.databases.svc:5432/taskflow?sslmode=require"
    )
    volumes = {v["name"]: v for v in find(objects, "Deployment")["spec"]["template"]["spec"]["volumes"]}
    assert volumes["secrets"]["projected"]["sources"][0]["secret"] == {
        "name": "taskflow-db-app", "items": [{"key": "password", "path": "database-password"}]}
    # A password given in values lands in the chart's Secret, never in the URL.
    objects = render(CHART / "ci" / "external-database-values.yaml",
                     sets=["externalDatabase.existingSecret=", "externalDatabase.password=hunter22"])
    secret = find(objects, "Secret")
    import base64
    assert base64.b64decode(secret["data"]["db-password"]).decode() == "hunter22"
    assert "hunter22" not in yaml.safe_dump(find(objects, "Deployment"))


def test_the_logs_volume_is_optional_and_mounted_at_app_logs():
    assert "t-taskflow-logs" not in [o["metadata"]["name"] for o in render() if o["kind"] == "PersistentVolumeClaim"]
    objects = render(CHART / "ci" / "logs-pvc-values.yaml")
    pvc = find(objects, "PersistentVolumeClaim", "t-taskflow-logs")
    assert pvc["spec"]["resources"]["requests"]["storage"] == "5Gi"
    tf = container(find(objects, "Deployment")["spec"]["template"]["spec"], "taskflow")
    assert {"name": "logs", "mountPath": "/app/logs"} in tf["volumeMounts"]


def test_minikube_values_enable_the_permissions_init_container():
    objects = render(CHART / "values-minikube.yaml")
    pod = find(objects, "Deployment")["spec"]["template"]["spec"]
    init = container(pod, "volume-permissions")
    assert "chown" in " ".join(init["command"])
    assert {"name": "data", "mountPath": "/data"} in init["volumeMounts"]
    assert find(objects, "PersistentVolumeClaim", "t-taskflow-uploads")["spec"]["storageClassName"] == "standard"


# -- backups, policies, monitoring ---------------------------------------------------------


def test_the_backup_cronjob_creates_then_prunes_into_a_kept_claim():
    objects = render(CHART / "ci" / "backups-values.yaml")
    cron = find(objects, "CronJob")
    assert cron["spec"]["schedule"] == "30 2 * * *"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    create = container(pod, "backup")
    assert create in pod["initContainers"], "the backup is made before pruning"
    assert create["args"] == ["backup", "create", "--output", "/backups"]
    prune = container(pod, "prune")
    assert prune["args"] == ["backup", "prune", "/backups", "--keep-last=5", "--keep-daily=7",
                             "--keep-weekly=4", "--keep-monthly=12"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == "t-taskflow-uploads"
    assert volumes["backups"]["persistentVolumeClaim"]["claimName"] == "t-taskflow-backups"
    backups = find(objects, "PersistentVolumeClaim", "t-taskflow-backups")
    assert backups["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    # ReadWriteOnce uploads: the job runs beside the server, on the node that mounts the volume.
    affinity = pod["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert affinity["topologyKey"] == "kubernetes.io/hostname"
    assert affinity["labelSelector"]["matchLabels"]["app.kubernetes.io/component"] == "server"
    # The server reads the backups volume to report the last backup.
    tf = container(find(objects, "Deployment")["spec"]["template"]["spec"], "taskflow")
    assert env_of(tf)["TASKFLOW_BACKUP_DIR"]["value"] == "/backups"
    rwx = find(render(CHART / "ci" / "rwx-replicas-values.yaml"), "CronJob")
    assert "affinity" not in rwx["spec"]["jobTemplate"]["spec"]["template"]["spec"], "ReadWriteMany runs anywhere"


def test_only_taskflow_pods_reach_postgresql():
    objects = render(CHART / "ci" / "backups-values.yaml")
    policy = find(objects, "NetworkPolicy", "t-taskflow-postgres")
    assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "database"
    [rule] = policy["spec"]["ingress"]
    allowed = rule["from"][0]["podSelector"]["matchLabels"]
    assert allowed["taskflow.io/database-client"] == "true"
    assert rule["ports"] == [{"port": 5432, "protocol": "TCP"}]
    clients = [find(objects, "Deployment")["spec"]["template"],
               find(objects, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]]
    for template in clients:
        labels = template["metadata"]["labels"]
        assert all(labels.get(k) == v for k, v in allowed.items()), labels
    db_labels = find(objects, "StatefulSet")["spec"]["template"]["metadata"]["labels"]
    assert "taskflow.io/database-client" not in db_labels
    assert find(objects, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1


def test_monitoring_alerts_on_volume_use_and_backup_age():
    objects = render(CHART / "ci" / "metrics-values.yaml", sets=["backup.enabled=true"])
    monitor = find(objects, "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    # /metrics needs a token on the main port; the chart serves it on a port of its own,
    # which the ServiceMonitor scrapes and the Service names.
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    service = next(o for o in objects if o["kind"] == "Service" and any(p["name"] == "http" for p in o["spec"]["ports"]))
    assert {"name": "metrics", "port": 9090, "targetPort": "metrics"} in service["spec"]["ports"]
    container = find(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["TASKFLOW_METRICS_LISTEN"] == "0.0.0.0:9090"
    assert {"name": "metrics", "containerPort": 9090} in container["ports"]
    for probe in ["startupProbe", "livenessProbe", "readinessProbe"]:
        assert container[probe]["httpGet"]["port"] == "metrics", probe
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    rules = {r["alert"]: r for g in find(objects, "PrometheusRule")["spec"]["groups"] for r in g["rules"]}
    assert rules["TaskflowVolumeFilling"]["expr"].endswith("> 0.7")
    assert rules["TaskflowVolumeFilling"]["labels"]["severity"] == "warning"
    assert rules["TaskflowVolumeAlmostFull"]["expr"].endswith("> 0.9")
    assert rules["TaskflowVolumeAlmostFull"]["labels"]["severity"] == "critical"
    assert "taskflow_backup_last_success_timestamp_seconds" in rules["TaskflowBackupTooOld"]["expr"]
    assert rules["TaskflowBackupTooOld"]["expr"].endswith("> 172800"), "twice a daily schedule"
    hourly = render(CHART / "ci" / "metrics-values.yaml", sets=["backup.enabled=true", "backup.schedule=15 * * * *"])
    rules = {r["alert"]: r for g in find(hourly, "PrometheusRule")["spec"]["groups"] for r in g["rules"]}
    assert rules["TaskflowBackupTooOld"]["expr"].endswith("> 7200")
    ingress = find(objects, "Ingress")
    assert ingress["spec"]["rules"][0]["host"] == "tasks.example.com"
    assert ingress["spec"]["tls"][0]["secretName"] == "taskflow-tls"


def test_helm_test_checks_readyz():
    pod = find(render(), "Pod", "t-taskflow-test-readyz")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    command = " ".join(pod["spec"]["containers"][0]["command"])
    assert "http://t-taskflow:8080/readyz" in command


def test_notes_say_where_data_lives_and_warn_without_persistence():
    text = notes()
    assert "kubectl -n taskflow port-forward svc/t-taskflow 8080:8080" in text
    assert "claim t-taskflow-uploads at /data" in text
    assert "postgres-data-t-taskflow-postgres-0" in text
    assert "WARNING" not in text
    text = notes(CHART / "ci" / "no-persistence-values.yaml")
    assert "WARNING: uploads.persistence.enabled is false" in text
    assert "LOST" in text


# -- scaling out: object storage, replicas, CloudNativePG -----------------------------------


def test_with_object_storage_there_is_no_uploads_claim_and_replicas_roll():
    objects = render(CHART / "ci" / "s3-replicas-hpa-values.yaml")
    claims = [o["metadata"]["name"] for o in objects if o["kind"] == "PersistentVolumeClaim"]
    assert claims == [], f"no uploads or backups claim with object storage: {claims}"
    deploy = find(objects, "Deployment")
    assert deploy["spec"]["strategy"] == {"type": "RollingUpdate",
                                          "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    assert "replicas" not in deploy["spec"], "the autoscaler owns the replica count"
    hpa = find(objects, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "t-taskflow"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 8)
    assert hpa["spec"]["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
    pod = deploy["spec"]["template"]["spec"]
    data = next(v for v in pod["volumes"] if v["name"] == "data")
    assert data == {"name": "data", "emptyDir": {}}
    env = env_of(container(pod, "taskflow"))
    assert all("valueFrom" not in e for e in env.values()), "secrets come from files, not variables"
    assert env["TASKFLOW_S3_BUCKET"]["value"] == "taskflow/attachments"
    assert env["TASKFLOW_S3_ENDPOINT"]["value"] == "http://garage.storage.svc:3900"
    assert env["TASKFLOW_S3_REGION"]["value"] == "garage"
    assert "TASKFLOW_S3_PATH_STYLE" not in env, "the binary's default: path style with an endpoint"
    assert env["TASKFLOW_S3_ACCESS_KEY_ID_FILE"]["value"] == "/run/secrets/taskflow/s3-access-key-id"
    assert env["TASKFLOW_S3_SECRET_ACCESS_KEY_FILE"]["value"] == "/run/secrets/taskflow/s3-secret-access-key"
    assert env["TASKFLOW_BACKUP_DIR"]["value"] == "s3://taskflow-backups/nightly"
    sources = next(v for v in pod["volumes"] if v["name"] == "secrets")["projected"]["sources"]
    s3 = next(src["secret"] for src in sources if src["secret"]["name"] == "taskflow-s3")
    assert [i["path"] for i in s3["items"]] == ["s3-access-key-id", "s3-secret-access-key"]
    assert all(m["name"] != "backups" for m in container(pod, "taskflow")["volumeMounts"])
    # The backup job writes to the bucket, mounts no claim and may run on any node.
    job = find(objects, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert "affinity" not in job
    assert all("persistentVolumeClaim" not in v for v in job["volumes"]), job["volumes"]
    assert container(job, "backup")["args"] == ["backup", "create", "--output", "s3://taskflow-backups/nightly"]
    prune = container(job, "prune")
    assert prune["args"][:3] == ["backup", "prune", "s3://taskflow-backups/nightly"]
    assert env_of(prune)["TASKFLOW_S3_BUCKET"]["value"] == "taskflow/attachments"


def test_object_storage_with_backups_on_a_claim_keeps_the_job_beside_the_server():
    objects = render(sets=["blobs.s3.bucket=taskflow", "backup.enabled=true"])
    assert [o["metadata"]["name"] for o in objects if o["kind"] == "PersistentVolumeClaim"] == ["t-taskflow-backups"]
    job = find(objects, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert "podAffinity" in job["affinity"], "the ReadWriteOnce backups claim is the server's too"
    assert next(v for v in job["volumes"] if v["name"] == "data") == {"name": "data", "emptyDir": {}}
    deploy = find(objects, "Deployment")
    assert deploy["spec"]["strategy"]["type"] == "RollingUpdate"


def test_cloudnative_pg_mode_renders_a_cluster_and_points_taskflow_at_it():
    objects = render(CHART / "ci" / "cloudnative-pg-values.yaml")
    assert not [o for o in objects if o["kind"] == "StatefulSet"], "no in-chart PostgreSQL"
    assert all(o["metadata"]["name"] != "t-taskflow-postgres" for o in objects)
    cluster = find(objects, "Cluster", "t-taskflow-db")
    # No schema is available offline for CloudNativePG's kinds: the Cluster is checked here.
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    spec = cluster["spec"]
    assert set(spec) <= {"instances", "imageName", "primaryUpdateStrategy", "bootstrap", "storage",
                         "walStorage", "resources", "backup"}, sorted(spec)
    assert spec["instances"] == 3
    assert spec["bootstrap"] == {"initdb": {"database": "taskflow", "owner": "taskflow"}}
    assert spec["storage"] == {"size": "20Gi", "storageClass": "fast-ssd"}
    assert spec["walStorage"] == {"size": "4Gi", "storageClass": "fast-ssd"}
    assert spec["resources"]["limits"]["memory"] == "1Gi"
    backup = spec["backup"]
    assert backup["retentionPolicy"] == "14d"
    store = backup["barmanObjectStore"]
    assert store["destinationPath"] == "s3://taskflow-pg/wal"
    assert store["endpointURL"] == "https://s3.example.org"
    assert store["s3Credentials"] == {
        "accessKeyId": {"name": "taskflow-pg-s3", "key": "access-key-id"},
        "secretAccessKey": {"name": "taskflow-pg-s3", "key": "secret-access-key"},
    }
    assert store["wal"]["compression"] == "gzip"
    scheduled = find(objects, "ScheduledBackup", "t-taskflow-db")
    assert scheduled["apiVersion"] == "postgresql.cnpg.io/v1"
    assert scheduled["spec"]["cluster"] == {"name": "t-taskflow-db"}
    assert len(scheduled["spec"]["schedule"].split()) == 6, "CloudNativePG's cron has seconds"
    deploy = find(objects, "Deployment")
    pod = deploy["spec"]["template"]["spec"]
    env = env_of(container(pod, "taskflow"))
    assert env["TASKFLOW_DATABASE_URL"]["value"] == "postgres://taskflow@t-taskflow-db-rw:5432/taskflow"
    sources = next(v for v in pod["volumes"] if v["name"] == "secrets")["projected"]["sources"]
    db = sources[0]["secret"]
    assert db == {"name": "t-taskflow-db-app", "items": [{"key": "password", "path": "database-password"}]}
    secret = find(objects, "Secret", "t-taskflow-secrets")
    assert "db-password" not in secret["data"], "the operator makes the database's Secret"
    assert [p["metadata"]["name"] for p in objects if p["kind"] == "NetworkPolicy"] == [
        "t-taskflow", "t-taskflow-backup", "t-taskflow-test"]
    text = notes(CHART / "ci" / "cloudnative-pg-values.yaml")
    assert "CloudNativePG Cluster t-taskflow-db: 3 instances" in text
    assert "WAL archived and base backups" in text
    assert "object storage s3://taskflow at https://s3.example.org" in text


def test_postgresql_modes_follow_enabled_when_unset():
    assert find(render(), "StatefulSet")
    external = render(sets=["postgresql.enabled=false", "externalDatabase.host=db.example"])
    assert not [o for o in external if o["kind"] in ("StatefulSet", "Cluster")]
    explicit = render(sets=["postgresql.mode=external", "externalDatabase.host=db.example"])
    assert kinds(explicit) == kinds(external)


# -- bad values ----------------------------------------------------------------------------

BAD = {
    "unknown-access-mode.yaml": "at '/uploads/persistence/accessMode': value must be one of 'ReadWriteOnce', 'ReadWriteMany'",
    "negative-size.yaml": "at '/postgresql/persistence/size'",
    "replicas-on-rwo.yaml": "at '/uploads/persistence/accessMode': value must be 'ReadWriteMany'",
    "autoscaling-on-rwo.yaml": "at '/uploads/persistence/accessMode': value must be 'ReadWriteMany'",
    "replicas-on-rwo-backups.yaml": "with backup.enabled needs backup.s3.url or backup.persistence.accessMode: ReadWriteMany",
    "backup-s3-without-blobs-s3.yaml": "backup.s3.url needs blobs.s3.bucket",
    "cnpg-backup-without-secret.yaml": "cloudnativePG.backup.enabled needs cloudnativePG.backup.destinationPath",
    "unknown-postgresql-mode.yaml": "at '/postgresql/mode'",
    "bad-bucket.yaml": "at '/blobs/s3/bucket'",
    "external-without-host.yaml": "set externalDatabase.host",
    "typo.yaml": "persistance",
    "bad-retention-policy.yaml": "at '/postgresql/persistentVolumeClaimRetentionPolicy/whenDeleted'",
    "backup-without-uploads.yaml": "backup.enabled needs uploads.persistence.enabled",
}


def test_every_bad_values_file_is_listed():
    assert sorted(p.name for p in BAD_VALUES.glob("*.yaml")) == sorted(BAD)


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_values_fail_with_a_message_naming_them(name):
    result = helm("template", "t", str(CHART), "-f", str(BAD_VALUES / name), check=False)
    assert result.returncode != 0, f"{name} rendered"
    assert BAD[name] in result.stderr, result.stderr


# -- security scan -------------------------------------------------------------------------


def checkov(*args):
    result = subprocess.run([tool("CHECKOV"), "--skip-download", "-o", "json", *args],
                            capture_output=True, text=True)
    reports = json.loads(result.stdout)
    return reports if isinstance(reports, list) else [reports]


def test_checkov_finds_nothing_but_skips_written_in_the_chart(tmp_path):
    for values in CI_VALUES:
        rendered = helm("template", "t", str(CHART), "--namespace", "taskflow", "-f", str(values)).stdout
        (tmp_path / values.name).write_text(rendered)
    [report] = checkov("-d", str(tmp_path), "--framework", "kubernetes")
    failed = report["results"]["failed_checks"]
    assert not failed, "\n".join(f"{c['check_id']} {c['resource']} ({c['file_path']})" for c in failed)
    assert report["summary"]["passed"] > 100
    for skipped in report["results"]["skipped_checks"]:
        assert len(skipped.get("check_result", {}).get("suppress_comment", "")) > 20, skipped["check_id"]


def test_the_dockerfile_passes_checkov_and_runs_as_non_root():
    [report] = checkov("-f", str(ROOT / "Dockerfile"), "--framework", "dockerfile")
    assert not report["results"]["failed_checks"], report["results"]["failed_checks"]
    text = (ROOT / "Dockerfile").read_text()
    assert text.count("FROM ") >= 2, "multi-stage"
    assert "USER 65532:65532" in text
    assert 'VOLUME ["/data"]' in text


# -- secrets survive upgrades ----------------------------------------------------------------


class FakeKubernetes:
    """Just enough of a Kubernetes API for `helm template --dry-run=server`: discovery, and one
    Secret as an earlier release of `t` left it (or none)."""

    CORE = [("secrets", "Secret"), ("services", "Service"), ("persistentvolumeclaims", "PersistentVolumeClaim"),
            ("pods", "Pod")]
    GROUPS = {
        "apps": [("deployments", "Deployment"), ("statefulsets", "StatefulSet")],
        "batch": [("cronjobs", "CronJob")],
        "networking.k8s.io": [("networkpolicies", "NetworkPolicy"), ("ingresses", "Ingress")],
        "policy": [("poddisruptionbudgets", "PodDisruptionBudget")],
        "monitoring.coreos.com": [("servicemonitors", "ServiceMonitor"), ("prometheusrules", "PrometheusRule")],
    }

    def __init__(self, secret_data):
        import http.server
        import threading

        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                code, body = fake.answer(self.path.split("?")[0])
                raw = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.secret_data = secret_data
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def resources(self, group_version, kinds):
        return {"kind": "APIResourceList", "groupVersion": group_version, "resources": [
            {"name": n, "singularName": k.lower(), "namespaced": True, "kind": k, "verbs": ["get", "list", "create"]}
            for n, k in kinds]}

    def answer(self, path):
        if path == "/version":
            return 200, {"major": "1", "minor": "33", "gitVersion": "v1.33.0", "platform": "linux/amd64"}
        if path == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        if path == "/apis":
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": f"{g}/v1", "version": "v1"}],
                 "preferredVersion": {"groupVersion": f"{g}/v1", "version": "v1"}} for g in self.GROUPS]}
        if path == "/api/v1":
            return 200, self.resources("v1", self.CORE)
        for group, kinds in self.GROUPS.items():
            if path == f"/apis/{group}/v1":
                return 200, self.resources(f"{group}/v1", kinds)
        if path == "/api/v1/namespaces/taskflow/secrets/t-taskflow-secrets" and self.secret_data:
            return 200, {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "data": self.secret_data,
                         "metadata": {"name": "t-taskflow-secrets", "namespace": "taskflow",
                                      "labels": {"app.kubernetes.io/managed-by": "Helm"},
                                      "annotations": {"meta.helm.sh/release-name": "t",
                                                      "meta.helm.sh/release-namespace": "taskflow"}}}
        return 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}

    def render_secret(self, tmp_path):
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": f"http://127.0.0.1:{self.server.server_port}"}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake", "namespace": "taskflow"}}],
            "users": [{"name": "fake", "user": {"token": "x"}}],
        }))
        result = subprocess.run(
            [tool("HELM"), "template", "t", str(CHART), "--namespace", "taskflow", "--dry-run=server",
             "--disable-openapi-validation", "--show-only", "templates/secret.yaml"],
            capture_output=True, text=True, env={**os.environ, "KUBECONFIG": str(kubeconfig)})
        self.server.shutdown()
        assert result.returncode == 0, result.stderr
        return yaml.safe_load(result.stdout)["data"]


def test_generated_passwords_are_kept_by_upgrades_and_reinstalls(tmp_path):
    import base64
    old = {k: base64.b64encode(v.encode()).decode()
           for k, v in {"db-password": "the-password-postgres-was-initialised-with",
                        "db-user": "taskflow", "admin-password": "the-first-admin-password"}.items()}
    # A Secret from an earlier release (an upgrade, or a reinstall after uninstall kept it).
    assert FakeKubernetes(old).render_secret(tmp_path) == old
    # No Secret yet: a first install generates them.
    fresh = FakeKubernetes(None).render_secret(tmp_path)
    assert fresh["db-password"] != old["db-password"]
    assert len(base64.b64decode(fresh["db-password"])) == 32
    assert len(base64.b64decode(fresh["admin-password"])) == 24
