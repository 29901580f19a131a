namespace DbBackup.Engine.Storage.Azure;

/// <summary>Explicit Azure Blob settings given by the host. Unset values fall back to AZURE_STORAGE_* variables, then Microsoft Entra credentials.</summary>
public sealed class AzureBlobSettings
{
}
