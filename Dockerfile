# One image for the collector, the agent and the simulated SNMP device of docker-compose.yml.
FROM python:3.11-slim-bookworm

# fping and iproute2 help a technician inside the container; the agent needs neither.
RUN apt-get update \
 && apt-get install -y --no-install-recommends fping iproute2 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/sansang
COPY pyproject.toml README.md agent.py ./
COPY probes probes
COPY collector collector
COPY inventory inventory
COPY alerts alerts
COPY dashboards dashboards
COPY ward_agent ward_agent
COPY demo demo
COPY tests/lab/snmprec /opt/sansang/snmprec
RUN pip install --no-cache-dir . snmpsim pysmi

# The agent needs CAP_NET_RAW only for raw ICMP; compose grants it to the agent service.
RUN useradd --system --home /var/lib/sansang --create-home sansang
USER sansang
EXPOSE 8080
CMD ["python", "-m", "collector", "serve", "--listen", "0.0.0.0:8080", \
     "--tokens", "/etc/sansang/tokens.yaml", "--database", "/var/lib/sansang/sansang.sqlite3"]
