FROM python:3.11-slim
WORKDIR /app
COPY . .
# The home is a volume at /data: create it owned by the app's user, so a named volume starts writable.
RUN pip install --no-cache-dir . && useradd -m chatcrm && mkdir -p /data && chown chatcrm:chatcrm /data
USER chatcrm
ENV HF_HUB_OFFLINE=1 CHATCRM_HOME=/data
CMD ["chatcrm", "bot"]
