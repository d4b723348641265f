"""Type stubs for the gRPC code generated from danube/v1/job_service.proto. DO NOT EDIT!

Written by proto/generate.py from the descriptors."""

import collections.abc

import grpc

import danube._proto.v1.job_service_pb2 as _job_service_pb2


class JobServiceStub:
    """Served by the master for the coordinators of running jobs."""
    def __init__(self, channel: grpc.Channel) -> None: ...
    RunStep: grpc.UnaryStreamMultiCallable[_job_service_pb2.RunStepRequest, _job_service_pb2.RunStepResponse]
    GetSecret: grpc.UnaryUnaryMultiCallable[_job_service_pb2.GetSecretRequest, _job_service_pb2.GetSecretResponse]
    UploadArtifact: grpc.StreamUnaryMultiCallable[_job_service_pb2.UploadArtifactRequest, _job_service_pb2.UploadArtifactResponse]
    ReportStatus: grpc.UnaryUnaryMultiCallable[_job_service_pb2.ReportStatusRequest, _job_service_pb2.ReportStatusResponse]


class JobServiceServicer:
    """Served by the master for the coordinators of running jobs."""
    def RunStep(self, request: _job_service_pb2.RunStepRequest, context: grpc.ServicerContext) -> collections.abc.Iterator[_job_service_pb2.RunStepResponse]:
        """Runs one step (one command in the job's worker) and streams its output as it is produced, then exactly one StepResult. Idempotent per (job, number): a request whose number was already started does not start the command again; it reattaches to the step and streams the stored output from resume_offset, live output while the step is still running, and the final result."""
        ...
    def GetSecret(self, request: _job_service_pb2.GetSecretRequest, context: grpc.ServicerContext) -> _job_service_pb2.GetSecretResponse:
        """Returns the value of one secret the job's pipeline may read."""
        ...
    def UploadArtifact(self, request_iterator: collections.abc.Iterator[_job_service_pb2.UploadArtifactRequest], context: grpc.ServicerContext) -> _job_service_pb2.UploadArtifactResponse:
        """Stores an artifact of the job: an ArtifactHeader first, then the content in chunks. An upload that breaks before the client half-closes the stream stores nothing; the SDK then retries the whole upload from the first byte. Uploading the same name again replaces the earlier artifact."""
        ...
    def ReportStatus(self, request: _job_service_pb2.ReportStatusRequest, context: grpc.ServicerContext) -> _job_service_pb2.ReportStatusResponse:
        """Reports how the pipeline function ended. Sent once, at the end of the coordinator; a repeated identical report (a retry) must be accepted."""
        ...


def add_JobServiceServicer_to_server(servicer: JobServiceServicer, server: grpc.Server) -> None: ...
