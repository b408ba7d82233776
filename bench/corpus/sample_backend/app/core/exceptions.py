"""Domain errors mapped to HTTP responses."""
from fastapi import HTTPException, status


class NotFoundError(HTTPException):
    def __init__(self, what: str):
        super().__init__(status_code=status.HTTP_404_NOT_FOUND, detail=f"{what} not found")


class ValidationError(HTTPException):
    def __init__(self, detail: str):
        super().__init__(status_code=status.HTTP_422_UNPROCESSABLE_ENTITY, detail=detail)


class ForbiddenError(HTTPException):
    def __init__(self, detail: str = "forbidden"):
        super().__init__(status_code=status.HTTP_403_FORBIDDEN, detail=detail)
