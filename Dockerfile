FROM python:3.11-slim
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir . && useradd -m chatcrm
USER chatcrm
ENV HF_HUB_OFFLINE=1 CHATCRM_HOME=/data
CMD ["chatcrm", "bot"]
